/**
 * The bundle's entry: anywidget's current module form, one default export with the lifecycle methods.
 * (A named `render` export is the old form; anywidget logs a deprecation warning for it in every view.)
 */
import { render } from "./widget";

export default { render };
