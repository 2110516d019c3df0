"""The probe of metrics.py: get_num_correct on the grader's predictions."""

from __future__ import annotations

from ...calling import describe_value
from ...protocol import NumCorrectResult
from ...probing import function


def num_correct(runner, preds, labels, requires_grad: bool = False) -> NumCorrectResult:
    func = function(runner, "metrics", "get_num_correct")
    preds = preds.to(runner.device).requires_grad_(requires_grad)
    return {"returned": describe_value(runner.caller.call(func, preds, labels.to(runner.device)))}
