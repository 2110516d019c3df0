"""The probe of training_step.py: the student's step on the grader's network and Adam, batch by batch."""

from __future__ import annotations

import torch

from ... import oracle
from ...calling import describe_value
from ...protocol import StudentCodeError, TrainingStepResult
from ...probing import function


def training_step(runner, weights, batches) -> TrainingStepResult:
    """The student's training_step, once per batch, on the grader's network and Adam."""
    func = function(runner, "training_step", "training_step")
    net = oracle.network(weights, runner.device)
    optimizer = oracle.make_optimizer(net)
    # Did backward reach the parameters? Gradients gone by the end of a step can mean
    # no backward, or a zero_grad() between backward and step: the hint differs.
    accumulated = [0]

    def count(_param):
        accumulated[0] += 1

    hooks = [p.register_post_accumulate_grad_hook(count) for p in net.parameters()]
    # How the network's last forward ran: with gradient tracking on, and did its output get a graph?
    # A loss with no graph then says which: tracking off around the forward, or a cut after it.
    forward = {}

    def watch(_module, _inputs, output):
        forward.update(grad=torch.is_grad_enabled(), graph=isinstance(output, torch.Tensor) and output.requires_grad)

    hooks.append(net.register_forward_hook(watch))
    steps = []
    try:
        for images, labels in batches:
            accumulated[0] = 0
            forward.clear()
            try:
                returned = runner.caller.call(func, net, optimizer, images.to(runner.device), labels.to(runner.device))
            except StudentCodeError as exc:
                return {"steps": steps, "error": exc.record, "forward": dict(forward)}
            steps.append(
                {
                    "returned": describe_value(returned),
                    "weights": oracle.weights_of(net),
                    "grads": [None if p.grad is None else p.grad.detach().to("cpu", copy=True) for p in net.parameters()],
                    "backward": accumulated[0] > 0,
                }
            )
    finally:
        for hook in hooks:
            hook.remove()
    return {"steps": steps, "error": None, "grad_off": runner.caller.grad_off_where}
