const test = require("node:test");
const assert = require("node:assert");
const { chunk } = require("../src/chunk.js");

test("even split", () => {
  assert.deepStrictEqual(chunk([1, 2, 3, 4], 2), [[1, 2], [3, 4]]);
});

test("keeps the last chunk", () => {
  assert.deepStrictEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});
