"""Progress bars for long runs (the demo day, the evaluator's replays), drawn by tqdm on stderr.

On a terminal each bar redraws in place with its elapsed time and an estimate of the time left.
Off a terminal (a log file, a pipe, CI) carriage returns would pile up on one line, so the same
text is written as plain lines, one each time a bar passes a step. While bars show, log records
go through tqdm, which clears the bars, prints the record and draws them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

BAR_FORMAT = (
    "  {desc} {percentage:3.0f}%|{bar:25}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]"
)


class _LineBar(tqdm):  # type: ignore[misc]  # tqdm ships no type hints
    """Off a terminal: one plain line each time the bar passes a step, never a carriage return."""

    def __init__(self, *args: Any, line_step_percent: int, **kwargs: Any) -> None:
        self._line_step_percent = line_step_percent
        self._last_line_step = -1
        super().__init__(*args, **kwargs)

    def clear(self, nolock: bool = False) -> None:
        """A plain line stays where it is: nothing to clear before a log line."""

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg == "":
            return False  # closing clears the bar; a plain line is left as it is
        step = int(self.n * 100 / (self.total or 1)) // self._line_step_percent
        if step == self._last_line_step:
            return True
        self._last_line_step = step
        self.fp.write((self.__str__() if msg is None else msg) + "\n")
        self.fp.flush()
        return True


class ProgressBars:
    """Named bars shown together, one line each, updated with the amount done so far.

    Log records are routed through tqdm from creation until `close()`, which happens by itself
    once every bar is full. All bars close together: on a terminal a bar closed early would
    pull the ones below it up over itself.
    """

    def __init__(
        self, totals: Mapping[str, int], stream: TextIO, unit: str, line_step_percent: int = 5
    ) -> None:
        self._totals = {name: max(1, total) for name, total in totals.items()}
        self._routing = ExitStack()
        self._routing.enter_context(logging_redirect_tqdm(tqdm_class=tqdm))
        on_terminal = stream.isatty()
        self._bars: dict[str, tqdm] = {}
        for position, (name, total) in enumerate(self._totals.items()):
            common: dict[str, Any] = {
                "total": total,
                "desc": name,
                "unit": unit,
                "file": stream,
                "bar_format": BAR_FORMAT,
                "ascii": True,  # a log viewer or a plain console may not draw block characters
            }
            if on_terminal:
                self._bars[name] = tqdm(position=position, leave=True, **common)
            else:
                # every update reaches `display`, which writes only when a step is passed
                self._bars[name] = _LineBar(
                    line_step_percent=line_step_percent,
                    leave=False,
                    mininterval=0.0,
                    miniters=1,
                    **common,
                )

    def update(self, name: str, done: int) -> None:
        bar = self._bars[name]
        if bar.disable:
            return  # closed: a late report changes nothing
        bar.update(done - bar.n)
        if all(b.n >= self._totals[n] for n, b in self._bars.items()):
            self.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._routing.close()
