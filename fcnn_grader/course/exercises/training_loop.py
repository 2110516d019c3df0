"""Exercise `training_loop`: one epoch, a training step for every batch.

Check it with:  pytest --exercise=training_loop

Go once over every batch of `loader`, doing the training step on each, and
return (total_loss, total_correct): the sum of the batch losses and the
number of correct predictions, counted with each batch's predictions from
before its update. You may call your own training_step and get_num_correct.
"""


def train_epoch(network, optimizer, loader):
    # TODO: loop over the batches of loader, train on each, add up loss and correct.
    raise NotImplementedError
