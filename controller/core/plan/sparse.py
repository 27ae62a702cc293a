"""A small builder for sparse constraint rows, kept as triplets and emitted as CSR arrays.

The planner builds its matrix in numpy only: scipy is a test-time dependency, and highspy takes
plain CSR arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CsrMatrix:
    """Row-wise sparse matrix: row r holds `index[start[r]:start[r+1]]` with `value[...]`."""

    shape: tuple[int, int]
    start: IntArray
    index: IntArray
    value: FloatArray

    def to_dense(self) -> FloatArray:
        """The full matrix (for small models and tests)."""
        dense: FloatArray = np.zeros(self.shape)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.start))
        np.add.at(dense, (rows, self.index), self.value)
        return dense

    def dot(self, x: FloatArray) -> FloatArray:
        """A @ x without forming the dense matrix."""
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.start))
        product: FloatArray = np.bincount(
            rows, weights=self.value * x[self.index], minlength=self.shape[0]
        ).astype(np.float64)
        return product


class RowBuilder:
    """Collects rows `lower <= sum(coef * x[col]) <= upper`, each added in vectorised blocks."""

    def __init__(self) -> None:
        self._rows: list[IntArray] = []
        self._cols: list[IntArray] = []
        self._vals: list[FloatArray] = []
        self._lower: list[FloatArray] = []
        self._upper: list[FloatArray] = []
        self._names: list[str] = []
        self._counts: list[int] = []
        self.num_rows = 0

    def add(
        self,
        name: str,
        terms: list[tuple[npt.ArrayLike, npt.ArrayLike]],
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
    ) -> IntArray:
        """Add a block of n rows; each term is (cols, coefs), both broadcast to n (or scalars).

        Column -1 marks "no term in this row" (a sliding window cut short by the horizon).
        Returns the indices of the new rows.
        """
        low = np.atleast_1d(np.asarray(lower, dtype=np.float64))
        up = np.atleast_1d(np.asarray(upper, dtype=np.float64))
        n = max(low.size, up.size, *(np.asarray(c).size for c, _ in terms))
        row_ids = np.arange(self.num_rows, self.num_rows + n, dtype=np.int64)
        for cols, coefs in terms:
            col_arr = np.broadcast_to(np.asarray(cols, dtype=np.int64), (n,))
            val_arr = np.broadcast_to(np.asarray(coefs, dtype=np.float64), (n,))
            keep = (col_arr >= 0) & (val_arr != 0.0)
            self._rows.append(row_ids[keep])
            self._cols.append(col_arr[keep])
            self._vals.append(val_arr[keep])
        self._lower.append(np.broadcast_to(low, (n,)).copy())
        self._upper.append(np.broadcast_to(up, (n,)).copy())
        self._names.append(name)
        self._counts.append(n)
        self.num_rows += n
        return row_ids

    def add_single(
        self, name: str, cols: IntArray, coefs: FloatArray, lower: float, upper: float
    ) -> int:
        """Add one row with many terms (a horizon-wide cap)."""
        row = self.num_rows
        self._rows.append(np.full(cols.size, row, dtype=np.int64))
        self._cols.append(cols.astype(np.int64))
        self._vals.append(coefs.astype(np.float64))
        self._lower.append(np.array([lower]))
        self._upper.append(np.array([upper]))
        self._names.append(name)
        self._counts.append(1)
        self.num_rows += 1
        return row

    def blocks(self) -> dict[str, int]:
        """Rows per named block, for diagnostics and benchmarks."""
        totals: dict[str, int] = {}
        for name, count in zip(self._names, self._counts, strict=True):
            totals[name] = totals.get(name, 0) + count
        return totals

    def build(self, num_cols: int) -> tuple[CsrMatrix, FloatArray, FloatArray]:
        """The CSR matrix (duplicates summed) and the row bounds."""
        empty_i = np.zeros(0, dtype=np.int64)
        rows = np.concatenate([empty_i, *self._rows])
        cols = np.concatenate([empty_i, *self._cols])
        vals = np.concatenate([np.zeros(0), *self._vals])
        key = rows * max(num_cols, 1) + cols
        unique_key, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=vals, minlength=unique_key.size)
        nonzero = summed != 0.0
        unique_key, summed = unique_key[nonzero], summed[nonzero]
        row_of = unique_key // max(num_cols, 1)
        start = np.zeros(self.num_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=self.num_rows), out=start[1:])
        matrix = CsrMatrix(
            (self.num_rows, num_cols), start, (unique_key % max(num_cols, 1)), summed
        )
        lower = np.concatenate([np.zeros(0), *self._lower])
        upper = np.concatenate([np.zeros(0), *self._upper])
        return matrix, lower, upper
