const test = require("node:test");
const assert = require("node:assert");
const { chunk } = require("../src/chunk.js");

test("last chunk and edge cases", () => {
  assert.deepStrictEqual(chunk([1, 2, 3], 5), [[1, 2, 3]]);
  assert.deepStrictEqual(chunk([], 3), []);
  assert.deepStrictEqual(chunk([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2, 3], [4, 5, 6], [7]]);
});

test("bad sizes throw RangeError", () => {
  for (const size of [0, -1, 1.5, NaN]) {
    assert.throws(() => chunk([1, 2], size), RangeError);
  }
});
