/**
 * JupyterLab 4 / Notebook 7 plugin: a `%%logfire` cell is highlighted as SQL (PostgreSQL dialect, what
 * Logfire's DataFusion SQL reads like) and a `%%logql` cell as LogQL (Grafana's lezer grammar), instead of as
 * Python, where `FROM records` and `BY ALL` show as errors.
 *
 * How: each code cell whose source starts with one of these magics gets the magic's MIME type on its model
 * (the notebook sets every code cell to the kernel's; the editor follows the model's MIME type). The two
 * languages parse the cell from its second line on, so the magic line itself is never read as SQL or LogQL.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import type { ICellModel } from "@jupyterlab/cells";
import { IEditorLanguageRegistry } from "@jupyterlab/codemirror";
import { INotebookTracker, type NotebookPanel } from "@jupyterlab/notebook";
import { Language, LanguageSupport } from "@codemirror/language";
import { logqlLanguage } from "./logql";
import { AfterMagicLine } from "./magic-line";

const SQL_MIME = "text/x-logfire-sql";
const LOGQL_MIME = "text/x-logfire-logql";
const MAGICS: [RegExp, string][] = [
  [/^%%logfire(\s|$)/, SQL_MIME],
  [/^%%logql(\s|$)/, LOGQL_MIME],
];
const OWN_MIMES = new Set(MAGICS.map(([, mime]) => mime));

/** The MIME type a cell's source asks for, or null when it starts with none of the magics. */
export function mimeForSource(source: string): string | null {
  const start = source.trimStart();
  for (const [magic, mime] of MAGICS) if (magic.test(start)) return mime;
  return null;
}

function registerLanguages(registry: IEditorLanguageRegistry): void {
  registry.addLanguage({
    name: "logfire-sql",
    displayName: "Logfire SQL",
    mime: SQL_MIME,
    load: async () => {
      // JupyterLab's own SQL support (its PostgreSQL dialect), read from the second line on.
      const spec = registry.findByMIME("text/x-pgsql") ?? registry.findByName("sql");
      const sql = spec ? await registry.getLanguage(spec) : null;
      const support = sql?.support;
      if (!support) throw new Error("JupyterLab has no SQL language to highlight %%logfire cells with.");
      const language = new Language(support.language.data, new AfterMagicLine(support.language.parser), [], "logfire-sql");
      return new LanguageSupport(language, support.support);
    },
  });
  registry.addLanguage({
    name: "logfire-logql",
    displayName: "LogQL",
    mime: LOGQL_MIME,
    load: async () => new LanguageSupport(logqlLanguage()),
  });
}

/** Keeps one cell's MIME type in step with its first line, also when the notebook resets it. */
function follow(cell: ICellModel, notebookMime: () => string): void {
  if (cell.type !== "code") return;
  const update = (): void => {
    const wanted = mimeForSource(cell.sharedModel.getSource());
    if (wanted !== null) {
      if (cell.mimeType !== wanted) cell.mimeType = wanted;
    } else if (OWN_MIMES.has(cell.mimeType)) {
      cell.mimeType = notebookMime(); // the magic was removed: back to the kernel's language
    }
  };
  cell.contentChanged.connect(update);
  cell.mimeTypeChanged.connect(update);
  update();
}

function watchNotebook(panel: NotebookPanel): void {
  const notebook = panel.content;
  const followed = new WeakSet<ICellModel>();
  const notebookMime = (): string => notebook.codeMimetype;
  const attach = (): void => {
    const model = notebook.model;
    if (!model) return;
    const add = (cell: ICellModel): void => {
      if (followed.has(cell)) return;
      followed.add(cell);
      follow(cell, notebookMime);
    };
    for (const cell of model.cells) add(cell);
    model.cells.changed.connect((_, change) => {
      if (change.type === "add" || change.type === "set") change.newValues.forEach(add);
    });
  };
  notebook.modelChanged.connect(attach);
  attach();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: "logfire-notebook-cells:plugin",
  description: "Highlights %%logfire cells as SQL and %%logql cells as LogQL.",
  autoStart: true,
  requires: [IEditorLanguageRegistry, INotebookTracker],
  activate: (_app: JupyterFrontEnd, registry: IEditorLanguageRegistry, tracker: INotebookTracker) => {
    registerLanguages(registry);
    tracker.forEach(watchNotebook);
    tracker.widgetAdded.connect((_, panel) => watchNotebook(panel));
  },
};

export default plugin;
