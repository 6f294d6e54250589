/** A parser that reads a cell's magic line (`%%logfire VAR << --since 1d`) as blank and parses the rest. */
import { type Input, Parser, type PartialParse, type TreeFragment } from "@lezer/common";

/** The document with its first `end` characters blanked (newlines kept): positions stay those of the cell,
 * so the tree covers the whole cell, and edits still reuse the earlier tree. */
class BlankedHead implements Input {
  constructor(
    private readonly inner: Input,
    private readonly end: number,
  ) {}

  get length(): number {
    return this.inner.length;
  }

  get lineChunks(): boolean {
    return this.inner.lineChunks;
  }

  chunk(from: number): string {
    return this.blank(this.inner.chunk(from), from);
  }

  read(from: number, to: number): string {
    return this.blank(this.inner.read(from, to), from);
  }

  private blank(text: string, from: number): string {
    if (from >= this.end) return text;
    const cut = this.end - from;
    return text.slice(0, cut).replace(/[^\n]/g, " ") + text.slice(cut);
  }
}

export class AfterMagicLine extends Parser {
  constructor(private readonly inner: Parser) {
    super();
  }

  override createParse(
    input: Input,
    fragments: readonly TreeFragment[],
    ranges: readonly { from: number; to: number }[],
  ): PartialParse {
    const head = input.read(0, Math.min(input.length, 4096));
    const start = head.length - head.trimStart().length;
    if (!head.startsWith("%%", start)) return this.inner.createParse(input, fragments, ranges);
    const newline = head.indexOf("\n", start);
    const end = newline < 0 ? input.length : newline;
    return this.inner.createParse(new BlankedHead(input, end), fragments, ranges);
  }
}
