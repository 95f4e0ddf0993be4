// How the Allure 3 command line (npm package "allure", pinned in package.json) builds the HTML report.
// support/report/allure_report.py runs it with this file and says where things are through two environment
// variables; by hand: node_modules/.bin/allure generate --config allurerc.mjs reports/allure-results
//
//   REPORT_RESULTS_DIR   the Allure results (default reports/allure-results)
//   REPORT_HISTORY_FILE  the runs so far, for the trend charts; each build adds one line
//                        (default reports/allure-report/history/history.jsonl)
//
// One build makes two copies of the same report: "awesome" (a folder to serve) and "single-file" (one
// HTML file that opens with a double click). Both group scenarios by epic, feature and story.
//
// The categories come from categories.json in the results, which the suite writes at the start of every
// run (support/report/allure_results.py), so a category added there reaches the report with no change here.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const resultsDir = process.env.REPORT_RESULTS_DIR ?? "reports/allure-results";
const historyFile = process.env.REPORT_HISTORY_FILE ?? "reports/allure-report/history/history.jsonl";
const groupBy = ["epic", "feature", "story"];

// categories.json is written for Allure 2, whose patterns are Java's: "(?s)" up front for "a dot matches
// a newline too", and the whole message must match. JavaScript spells these as the "s" flag and ^(?:…)$.
function wholeMessagePattern(pattern) {
  const dotAll = pattern.startsWith("(?s)");
  return new RegExp(`^(?:${dotAll ? pattern.slice(4) : pattern})$`, dotAll ? "s" : "");
}

function category({ name, matchedStatuses, messageRegex, traceRegex, flaky }) {
  const matcher = { statuses: matchedStatuses ?? [] };
  try {
    if (messageRegex !== undefined) matcher.message = wholeMessagePattern(messageRegex);
    if (traceRegex !== undefined) matcher.trace = wholeMessagePattern(traceRegex);
  } catch (error) {
    throw new Error(`the category "${name}" in categories.json: ${error.message}`);
  }
  if (flaky !== undefined) matcher.flaky = flaky;
  return { name, matchers: matcher };
}

function categories() {
  let written;
  try {
    written = readFileSync(join(resultsDir, "categories.json"), "utf-8");
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
  return JSON.parse(written).map(category);
}

/** @type {import("allure").AllureConfig} */
export default {
  name: "Realtime acceptance suite",
  historyPath: historyFile,
  historyLimit: 20,
  categories: categories(),
  plugins: {
    awesome: { options: { groupBy, reportLanguage: "en" } },
    "single-file": {
      import: "@allurereport/plugin-awesome",
      options: { groupBy, reportLanguage: "en", singleFile: true },
    },
  },
};
