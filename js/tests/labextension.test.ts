import { describe, expect, it } from "vitest";
import { PostgreSQL } from "../../labextension/node_modules/@codemirror/lang-sql";
import { logqlLanguage } from "../../labextension/src/logql";
import { AfterMagicLine } from "../../labextension/src/magic-line";

/** Node names of a parse, in order, with the text each covers. */
function tokens(tree: { iterate(spec: { enter(node: { name: string; from: number; to: number }): void }): void }, doc: string): string[] {
  const out: string[] = [];
  tree.iterate({ enter: (n) => void out.push(`${n.name}:${doc.slice(n.from, n.to)}`) });
  return out;
}

/** The nodes that start on the cell's first line. */
function inFirstLine(tree: Parameters<typeof tokens>[0], doc: string): string[] {
  const end = doc.indexOf("\n");
  const out: string[] = [];
  tree.iterate({ enter: (n) => void (n.from < end && out.push(n.name)) });
  return out;
}

describe("the JupyterLab extension's parsers", () => {
  const cell = "%%logfire rows << --since 7d\nSELECT span_name FROM records WHERE level = 'error'";

  it("read a %%logfire cell's SQL as SQL and its magic line as nothing", () => {
    const tree = new AfterMagicLine(PostgreSQL.language.parser).parse(cell);
    expect(tree.length).toBe(cell.length); // the tree covers the whole cell: positions are the cell's own
    const found = tokens(tree, cell);
    expect(found).toContain("Keyword:FROM");
    expect(found).toContain("String:'error'");
    // Only the top node reaches into the magic line; without the wrapper it reads as SQL (`--since 7d` a
    // comment, `<<` an operator).
    expect(inFirstLine(tree, cell)).toEqual(["Script"]);
    expect(tokens(PostgreSQL.language.parser.parse(cell), cell)).toContain("LineComment:--since 7d");
  });

  it("read a %%logql cell as LogQL", () => {
    const doc = '%%logql logs << --since 1h\n{service_name="web-api"} |= "timeout" | json';
    const found = tokens(logqlLanguage().parser.parse(doc), doc);
    expect(found).toContain('String:"timeout"');
    expect(found).toContain("Json:json");
    expect(inFirstLine(logqlLanguage().parser.parse(doc), doc)).toEqual(["LogQL"]);
  });

  it("parse a cell without a magic line unchanged", () => {
    const doc = "SELECT 1 FROM records";
    expect(tokens(new AfterMagicLine(PostgreSQL.language.parser).parse(doc), doc)).toEqual(
      tokens(PostgreSQL.language.parser.parse(doc), doc),
    );
  });
});
