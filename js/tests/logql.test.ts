// @vitest-environment node
// Every LogQL string our Python tests send (tests/fixtures/logql/scenarios.json: the scenarios and the
// differential queries) parses with Grafana's own LogQL grammar (@grafana/lezer-logql), so our server is
// tested with queries Grafana and Loki users write.
// The syntax errors we answer with a 400 are errors for Grafana's grammar too.
import { readFileSync } from "node:fs";
import { parser } from "@grafana/lezer-logql";
import { describe, expect, it } from "vitest";

interface Scenario {
  name: string;
  query: string;
}
interface ParseError {
  query: string;
  lezer: "error" | "ok" | null;
}
interface Scenarios {
  scenarios: Scenario[];
  parse_errors: ParseError[];
  differential: { queries: string[] };
}

const file = new URL("../../tests/fixtures/logql/scenarios.json", import.meta.url);
const data = JSON.parse(readFileSync(file, "utf-8")) as Scenarios;

function errorAt(query: string): number | null {
  let at: number | null = null;
  parser.parse(query).iterate({
    enter(node) {
      if (node.type.isError && at === null) at = node.from;
    },
  });
  return at;
}

describe("LogQL of the Python scenarios", () => {
  it("has scenarios", () => {
    expect(data.scenarios.length).toBeGreaterThan(50);
  });
  for (const scenario of data.scenarios) {
    it(`parses with Grafana's grammar: ${scenario.name}`, () => {
      expect(errorAt(scenario.query), scenario.query).toBeNull();
    });
  }
  for (const query of data.differential.queries) {
    it(`parses with Grafana's grammar: ${query}`, () => {
      expect(errorAt(query), query).toBeNull();
    });
  }
  for (const bad of data.parse_errors.filter((c) => c.lezer !== null)) {
    it(`is ${bad.lezer === "error" ? "an error" : "accepted"} for Grafana's grammar too: ${bad.query}`, () => {
      const at = errorAt(bad.query);
      if (bad.lezer === "error") expect(at, bad.query).not.toBeNull();
      else expect(at, bad.query).toBeNull();
    });
  }
});
