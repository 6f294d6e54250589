/** LogQL for CodeMirror 6: Grafana's lezer grammar (@grafana/lezer-logql) with highlighting tags. */
import { Language, defineLanguageFacet } from "@codemirror/language";
import { styleTags, tags as t } from "@lezer/highlight";
import { parser } from "@grafana/lezer-logql";
import { AfterMagicLine } from "./magic-line";

const KEYWORDS = [
  "Json Logfmt Unpack Pattern Regexp Unwrap LabelFormat LineFormat LabelReplace Decolorize Drop Keep",
  "Vector Offset Bool On Ignoring GroupLeft GroupRight By Without",
].join(" ");
const FUNCTIONS = [
  "Sum Avg Count Max Min Stddev Stdvar Bottomk Topk Sort Sort_Desc Approx_Topk",
  "CountOverTime Rate RateCounter BytesOverTime BytesRate AvgOverTime SumOverTime MinOverTime MaxOverTime",
  "StddevOverTime StdvarOverTime QuantileOverTime FirstOverTime LastOverTime AbsentOverTime",
  "BytesConv DurationConv DurationSecondsConv Ip",
].join(" ");

const highlighted = parser.configure({
  props: [
    styleTags({
      [KEYWORDS]: t.keyword,
      "And Or Unless": t.logicOperator,
      [FUNCTIONS]: t.function(t.variableName),
      LineComment: t.lineComment,
      String: t.string,
      "Number Duration Bytes": t.number,
      Identifier: t.labelName,
      LabelName: t.labelName,
      "Eq Neq Re Nre Gtr Gte Lss Lte Eql": t.compareOperator,
      "PipeExact PipeMatch PipePattern Npa Pipe": t.operator,
      "Add Sub Mul Div Mod Pow": t.arithmeticOperator,
      "( )": t.paren,
      "{ }": t.brace,
      "[ ]": t.squareBracket,
    }),
  ],
});

/** LogQL, read from the cell's second line on (the first is the `%%logql` magic line). */
export function logqlLanguage(): Language {
  const data = defineLanguageFacet({ commentTokens: { line: "#" } });
  return new Language(data, new AfterMagicLine(highlighted), [], "logql");
}
