"""Every sentence the grader says, in English and Simplified Chinese.

Keys are grouped by role: check.* (what a check verifies), fail.* (the
headline of a failure), where.*/expected.*/found.* (the parts of a finding),
hint.* (the likely mistake), error.* (problems running student code).
Code snippets stay in English in both languages.
"""

from __future__ import annotations

_M: dict[str, tuple[str, str]] = {
    # ----- labels of a finding -----
    "label.where": ("where", "位置"),
    "label.expected": ("expected", "期望"),
    "label.found": ("found", "实际"),
    "label.hint": ("likely mistake", "可能的错误"),
    "label.ruled_out": ("ruled out", "已排除"),
    "traceback.title": ("Traceback (your code only):", "Traceback（只显示你的代码）："),
    # ----- what each check verifies -----
    "check.data.train_set": (
        "load_train_set gives the 60,000 training images as ToTensor() makes them",
        "load_train_set 返回 60,000 张训练图像，与 ToTensor() 的结果一致",
    ),
    "check.data.train_loader": (
        "make_train_loader gives batches of 100 in dataset order",
        "make_train_loader 按数据集顺序给出大小为 100 的批次",
    ),
    "check.network.parameters": (
        "the network has the seed's five layers and 32,998 parameters",
        "网络包含课程中的五个层，共 32,998 个参数",
    ),
    "check.network.layer_shapes": (
        "the output shape of every layer for a batch of 100 images",
        "一批 100 张图像经过每一层后的输出形状",
    ),
    "check.network.logits": (
        "with the grader's weights, forward returns the seed's logits",
        "使用评分器的权重时，forward 返回与课程相同的 logits",
    ),
    "check.network.any_batch_size": (
        "forward works for any batch size, not only 100",
        "forward 适用于任意批大小，而不仅仅是 100",
    ),
    "check.network.batch_independence": (
        "each image's logits depend on that image only",
        "每张图像的 logits 只取决于这张图像本身",
    ),
    "check.network.gradients": (
        "after loss.backward() every parameter has a gradient",
        "调用 loss.backward() 之后，每个参数都有梯度",
    ),
    "check.num_correct.crafted_inputs": (
        "get_num_correct counts right on hand-made cases",
        "get_num_correct 在手工构造的例子上计数正确",
    ),
    "check.num_correct.returns_int": (
        "get_num_correct returns a Python int",
        "get_num_correct 返回 Python 的 int",
    ),
    "check.num_correct.random_inputs": (
        "get_num_correct counts right on generated batches",
        "get_num_correct 在随机生成的批次上计数正确",
    ),
    "check.training_step.returns_loss": (
        "training_step returns the loss before the update as a float",
        "training_step 以 float 返回更新前的损失",
    ),
    "check.training_step.loss_decreases": (
        "one training_step lowers the loss on the same batch",
        "一次 training_step 之后，同一批数据上的损失下降",
    ),
    "check.training_step.matches_reference": (
        "several training_steps in a row train exactly like the seed",
        "连续多次 training_step 的训练结果与课程完全一致",
    ),
    "check.training_loop.visits_every_batch": (
        "train_epoch takes every batch once, with one optimizer step each",
        "train_epoch 每个批次只取一次，并且每批只做一次优化器更新",
    ),
    "check.training_loop.returned_totals": (
        "train_epoch returns (sum of the batch losses, correct predictions)",
        "train_epoch 返回（各批损失之和，预测正确的数量）",
    ),
    "check.training_loop.matches_reference": (
        "train_epoch trains exactly like the seed, batch after batch",
        "train_epoch 逐批的训练结果与课程完全一致",
    ),
    "check.training_loop.accuracy": (
        "one epoch on FashionMNIST reaches test accuracy >= 0.80",
        "在 FashionMNIST 上训练一个 epoch 后，测试集准确率 >= 0.80",
    ),
    # ----- the points of a forward pass -----
    "point.input": ("the input images", "输入图像"),
    "point.conv1": ("conv1 output", "conv1 的输出"),
    "point.pool1": ("after relu + max-pool of conv1 (what conv2 receives)", "conv1 之后经过 relu 和最大池化（conv2 的输入）"),
    "point.conv2": ("conv2 output", "conv2 的输出"),
    "point.pool2": ("after relu + max-pool of conv2 (before flattening)", "conv2 之后经过 relu 和最大池化（展平之前）"),
    "point.flatten": ("the flattened tensor (what fc1 receives)", "展平后的张量（fc1 的输入）"),
    "point.fc1": ("fc1 output", "fc1 的输出"),
    "point.fc2": ("fc2 output", "fc2 的输出"),
    "point.out": ("out layer output", "out 层的输出"),
    "point.output": ("what forward returns", "forward 的返回值"),
    # ----- headlines -----
    "fail.parameters": (
        "Your network's parameters differ from the seed's ({count} tensors, {total} numbers; expected 10 tensors, 32,998 numbers).",
        "你的网络参数与课程不同（{count} 个张量，共 {total} 个数；期望 10 个张量，共 32,998 个数）。",
    ),
    "fail.layer_shapes": (
        "A layer's output has the wrong shape for a batch of {n} images.",
        "对于一批 {n} 张图像，某一层的输出形状不对。",
    ),
    "fail.logits": (
        "With the same weights, your forward returns different numbers than the seed's.",
        "在相同的权重下，你的 forward 返回的数值与课程不同。",
    ),
    "fail.logits_not_tensor": ("forward must return a tensor of logits.", "forward 必须返回 logits 张量。"),
    "fail.any_batch_size": ("forward gives the wrong shape for a batch of size {n}.", "批大小为 {n} 时，forward 给出的形状不对。"),
    "fail.batch_independence": (
        "One image's logits change when other images in the batch change.",
        "当同一批中的其他图像改变时，某张图像的 logits 也跟着改变了。",
    ),
    "fail.gradients": ("Some parameters did not get a proper gradient.", "有些参数没有得到正确的梯度。"),
    "fail.no_graph": ("The loss does not track gradients, so backward() cannot run.", "损失没有记录梯度，因此无法调用 backward()。"),
    "fail.num_correct": ("get_num_correct returns the wrong count.", "get_num_correct 返回的数量不对。"),
    "fail.returns_int": ("get_num_correct must return a Python int.", "get_num_correct 必须返回 Python 的 int。"),
    "fail.returns_loss": ("training_step returns the wrong value.", "training_step 的返回值不对。"),
    "fail.loss_decreases": ("The loss did not go down after training_step.", "调用 training_step 之后损失没有下降。"),
    "fail.matches_reference": (
        "Your training departs from the seed's at step {k}.",
        "你的训练从第 {k} 步开始与课程不一致。",
    ),
    "fail.visits_every_batch": ("train_epoch does not do one step per batch.", "train_epoch 没有做到每批一次更新。"),
    "fail.returned_totals": ("train_epoch returns the wrong totals.", "train_epoch 返回的总数不对。"),
    "fail.loop_matches_reference": ("train_epoch trains differently from the seed.", "train_epoch 的训练过程与课程不同。"),
    "fail.accuracy": ("After one epoch the network is not trained well enough.", "训练一个 epoch 之后，网络的效果不够好。"),
    "fail.train_set": ("load_train_set does not give the training set as expected.", "load_train_set 返回的训练集不符合要求。"),
    "fail.train_loader": ("make_train_loader does not give the expected batches.", "make_train_loader 给出的批次不符合要求。"),
    # ----- where -----
    "where.between": ("between {before} and {after}", "在 {before} 与 {after} 之间"),
    "where.not_reached": ("forward stopped before", "forward 在这些位置之前就停止了"),
    "where.later_layers": ("later layers", "后面的层"),
    "where.total_params": ("total number of parameters", "参数总数"),
    "where.sample": ("logits of image {i}", "第 {i} 张图像的 logits"),
    "where.returned": ("the returned value", "返回值"),
    "where.returned_type": ("the type of the returned value", "返回值的类型"),
    "where.same_batch": ("loss on the same batch, before and after", "同一批数据上更新前后的损失"),
    "where.after_step": ("weights after step {k}", "第 {k} 步之后的权重"),
    "where.after_step_large": ("weights after step {k} (images x {scale}: a large gradient)", "第 {k} 步之后的权重（图像 x {scale}：很大的梯度）"),
    "where.after_epoch": ("weights after the epoch", "epoch 结束后的权重"),
    "where.batch": ("batch {i}", "第 {i} 批"),
    "where.test_set": ("accuracy on the 10,000 test images", "10,000 张测试图像上的准确率"),
    "where.item": ("train_set[{i}] image", "train_set[{i}] 的图像"),
    "where.label": ("train_set[{i}] label", "train_set[{i}] 的标签"),
    "where.loader_batch": ("batch {i} of {label}", "{label} 的第 {i} 批"),
    # ----- expected -----
    "expected.no_param": ("no such parameter", "不应有此参数"),
    "expected.logits": ("a tensor of shape ({n}, 10)", "形状为 ({n}, 10) 的张量"),
    "expected.same_logits": ("the same logits", "相同的 logits"),
    "expected.no_grad_yet": ("no .grad before backward()", "调用 backward() 之前没有 .grad"),
    "expected.graph": ("a loss with a grad_fn", "带有 grad_fn 的损失"),
    "expected.grad": ("a gradient of shape {shape}", "形状为 {shape} 的梯度"),
    "expected.finite": ("finite numbers", "有限的数值"),
    "expected.int": ("a Python int, e.g. 3", "Python 的 int，例如 3"),
    "expected.lower_loss": ("a loss below {before}", "低于 {before} 的损失"),
    "expected.reference_weights": ("the seed's weights", "课程中的权重"),
    "expected.pair": ("a pair (total_loss, total_correct)", "二元组 (total_loss, total_correct)"),
    "expected.batches": ("{n} batches", "{n} 个批次"),
    "expected.one_step": ("one optimizer.step()", "一次 optimizer.step()"),
    "expected.forward": ("a forward pass", "一次前向传播"),
    "expected.image": ("a tensor (ToTensor())", "张量（ToTensor()）"),
    "expected.pixel_range": ("the pixels as ToTensor() gives them (0 to 1)", "与 ToTensor() 相同的像素值（0 到 1）"),
    "expected.item_pair": ("(image, label)", "(图像, 标签)"),
    "expected.batch_pair": ("(images, labels) tensors", "(images, labels) 两个张量"),
    "expected.in_order": ("items {start} to {end}, in order", "按顺序的第 {start} 到 {end} 项"),
    # ----- found -----
    "found.param": ("{name} of shape {shape}", "{name}，形状 {shape}"),
    "found.nothing": ("nothing", "没有"),
    "found.not_reached": ("not reached", "没有执行到"),
    "found.point_shape": ("{point} {shape}", "{point} {shape}"),
    "found.list": ("{items}", "{items}"),
    "found.max_change": ("a change of up to {change}", "最多改变了 {change}"),
    "found.grad_already": ("a .grad already", "已经有 .grad"),
    "found.no_graph": ("the loss has no grad_fn", "损失没有 grad_fn"),
    "found.no_grad": ("None", "None"),
    "found.not_finite": ("NaN or inf", "NaN 或 inf"),
    "found.type": ("{type}: {repr}", "{type}：{repr}"),
    "found.weights_unchanged": ("the weights did not change", "权重没有变化"),
    "found.distance": ("weights {distance} apart (relative to the step size)", "权重相差 {distance}（相对于更新步长）"),
    "found.batches": ("{n} batches", "{n} 个批次"),
    "found.steps": ("{n} optimizer.step() calls", "{n} 次 optimizer.step()"),
    "found.no_forward": ("no forward pass", "没有前向传播"),
    "found.pixel_range": ("other values, from {low} to {high}", "不同的数值，范围 {low} 到 {high}"),
    "found.other_items": ("other items (not in dataset order)", "其他数据项（不是数据集的顺序）"),
    # ----- hints -----
    "hint.layer_def": ("the seed defines {layer} as {code}", "课程中 {layer} 的定义是 {code}"),
    "hint.fc1_in_features": (
        "fc1 takes in_features=12*4*4 = 192 (12 channels of 4x4 after the second pool), not {found}",
        "fc1 的 in_features 应为 12*4*4 = 192（第二次池化后 12 个 4x4 通道），而不是 {found}",
    ),
    "hint.extra_param": ("the seed's network has no such layer: remove it", "课程中的网络没有这一层：请删除它"),
    "hint.frozen": ("do not set requires_grad=False on the layers you train", "要训练的层不要设置 requires_grad=False"),
    "hint.missing_pool": (
        "the max-pool after {layer} is missing: F.max_pool2d(t, kernel_size=2, stride=2)",
        "{layer} 之后缺少最大池化：F.max_pool2d(t, kernel_size=2, stride=2)",
    ),
    "hint.softmax_output": (
        "{op} is applied to the output: return raw logits; F.cross_entropy applies log-softmax itself",
        "输出上用了 {op}：请直接返回 logits，F.cross_entropy 自己会做 log-softmax",
    ),
    "hint.relu_output": (
        "{op} is applied to the out layer: the seed applies no activation after out (logits can be negative)",
        "out 层之后用了 {op}：课程中 out 之后没有激活函数（logits 可以为负）",
    ),
    "hint.reshape_mixes": (
        "the reshape moves numbers between images: use t.reshape(-1, 12*4*4) directly on the (N, 12, 4, 4) tensor",
        "这个 reshape 把不同图像的数值混在了一起：请直接对 (N, 12, 4, 4) 的张量使用 t.reshape(-1, 12*4*4)",
    ),
    "hint.stage_ops": (
        "between {before} and {after} the seed applies: {wanted}; your forward applies: {have}",
        "在 {before} 与 {after} 之间，课程使用：{wanted}；你的 forward 使用：{have}",
    ),
    "hint.fix_first": ("these follow from the first wrong shape: fix that one first", "这些都是由第一个错误的形状引起的：请先修正它"),
    "hint.see_layer_shapes": ("forward is wrong for a batch of 100 too: see network::layer_shapes", "对于一批 100 张图像 forward 也不对：请先看 network::layer_shapes"),
    "hint.hard_coded_batch": (
        "the batch size looks hard-coded (100): use -1 for it, e.g. t.reshape(-1, 12*4*4)",
        "批大小似乎被写死为 100：请用 -1 代替，例如 t.reshape(-1, 12*4*4)",
    ),
    "hint.batch_mixing": (
        "something in forward mixes images: a reshape or transpose that moves numbers between images, or a statistic over the batch",
        "forward 中有操作把不同图像混在了一起：例如在图像之间移动数值的 reshape 或 transpose，或在整批上计算的统计量",
    ),
    "hint.backward_in_forward": (
        "nothing should call backward() while building or running the network",
        "构建或运行网络时不应该调用 backward()",
    ),
    "hint.no_grad": (
        "{layer} gets no gradient: forward does not use it, or cuts the graph before it (.detach(), .data, torch.no_grad(), .numpy())",
        "{layer} 没有得到梯度：forward 没有用到它，或者在它之前切断了计算图（.detach()、.data、torch.no_grad()、.numpy()）",
    ),
    "hint.not_finite": ("something in forward divides by zero or overflows", "forward 中有除以零或溢出的运算"),
    "hint.loss_label_smoothing": (
        "your numbers match F.cross_entropy(preds, labels, label_smoothing={e}) exactly: the course's loss has no label smoothing, F.cross_entropy(preds, labels)",
        "你的结果与 F.cross_entropy(preds, labels, label_smoothing={e}) 完全一致：课程中的损失不做标签平滑，F.cross_entropy(preds, labels)",
    ),
    "hint.loss_ignore_index": (
        "your numbers match F.cross_entropy(preds, labels, ignore_index={k}) exactly: that leaves every image of class {k} out of the loss; use F.cross_entropy(preds, labels)",
        "你的结果与 F.cross_entropy(preds, labels, ignore_index={k}) 完全一致：这会把类别 {k} 的所有图像排除在损失之外；请使用 F.cross_entropy(preds, labels)",
    ),
    "hint.loss_form": (
        "your numbers match {code} exactly: the course's loss is F.cross_entropy(preds, labels), on the raw logits and the labels as class indices",
        "你的结果与 {code} 完全一致：课程中的损失是 F.cross_entropy(preds, labels)，作用于原始 logits 和作为类别下标的标签",
    ),
    "hint.weight_decay": (
        "your numbers match Adam with weight_decay={w} exactly: the course's Adam has no weight decay; do not set it on the optimizer",
        "你的结果与 weight_decay={w} 的 Adam 完全一致：课程中的 Adam 没有权重衰减；请不要在优化器上设置它",
    ),
    "hint.clip_grad": (
        "your numbers match clipping the gradient with torch.nn.utils.clip_grad_norm_(network.parameters(), {m}) before step(): the course does not clip; remove it",
        "你的结果与在 step() 之前用 torch.nn.utils.clip_grad_norm_(network.parameters(), {m}) 裁剪梯度完全一致：课程中不裁剪梯度；请删掉它",
    ),
    "hint.loss_args_swapped": (
        "your error is exactly what {code} raises: the predictions come first, then the labels, F.cross_entropy(preds, labels)",
        "你的错误与 {code} 引发的错误完全相同：预测在前、标签在后，F.cross_entropy(preds, labels)",
    ),
    "hint.loss_form_error": (
        "your error is exactly what {code} raises: the course's loss is F.cross_entropy(preds, labels), the raw logits and the labels as class indices",
        "你的错误与 {code} 引发的错误完全相同：课程中的损失是 F.cross_entropy(preds, labels)，即原始 logits 和作为类别下标的标签",
    ),
    "hint.adam_setting": (
        "your numbers match Adam with {setting} exactly: the course's Adam keeps its defaults, with lr=0.01 only; do not change its settings",
        "你的结果与 {setting} 的 Adam 完全一致：课程中的 Adam 保持默认设置，只有 lr=0.01",
    ),
    "hint.loss_not_scalar": (
        "your error is exactly what loss.backward() raises on a loss with one number per image (reduction='none'): backward() needs one number; leave reduction at its default, the mean",
        "你的错误与对每张图像一个数的损失（reduction='none'）调用 loss.backward() 时引发的错误完全相同：backward() 需要一个数；请保持 reduction 的默认值（平均）",
    ),
    "hint.backward_not_scalar": (
        "backward() was called on a tensor of several numbers: the loss must be one number, as F.cross_entropy(preds, labels) gives with its default reduction (the mean)",
        "对一个包含多个数的张量调用了 backward()：损失必须是一个数，正如 F.cross_entropy(preds, labels) 在默认 reduction（平均）下给出的那样",
    ),
    "hint.softmax_on_integers": (
        "a softmax (F.softmax, F.log_softmax or the one inside F.cross_entropy) was given a tensor of integers, such as the labels: give it the predictions (floats); F.cross_entropy takes them first, F.cross_entropy(preds, labels)",
        "一个 softmax（F.softmax、F.log_softmax 或 F.cross_entropy 内部的那个）收到了整数张量（例如标签）：应当给它预测值（浮点数）；F.cross_entropy 的第一个参数是预测，F.cross_entropy(preds, labels)",
    ),
    "hint.forward_grad_off": (
        "gradient tracking was off while the network ran (its output has no graph): preds = network(images) sits in a torch.no_grad() block or after torch.set_grad_enabled(False); run the forward pass with tracking on",
        "网络运行时梯度跟踪是关闭的（它的输出没有计算图）：preds = network(images) 位于 torch.no_grad() 块中或在 torch.set_grad_enabled(False) 之后；请在开启梯度跟踪时做前向传播",
    ),
    "hint.loss_graph_cut": (
        "the network's output had its graph, yet the loss given to backward() has none: something between preds = network(images) and loss.backward() cuts it (.detach(), .data, .item(), a tensor rebuilt from numbers); compute the loss from preds directly",
        "网络的输出带有计算图，但传给 backward() 的损失没有：在 preds = network(images) 与 loss.backward() 之间有操作切断了它（.detach()、.data、.item()、用数值重新构造的张量）；请直接由 preds 计算损失",
    ),
    "hint.name_unset": (
        "{name} has no value where this line reads it: the statement that sets it ({name} = ..., or an import) is missing, misspelt or comes later",
        "这一行读取 {name} 时它还没有值：给它赋值的语句（{name} = ...，或 import）缺失、拼错了，或者在这一行之后",
    ),
    "hint.name_set_later": (
        "{name} is read before the statement that sets it has run: that statement is missing on this path or comes later; set {name} first",
        "在给 {name} 赋值的语句执行之前就读取了它：这条语句在这条路径上缺失，或者在后面；请先给 {name} 赋值",
    ),
    "hint.grad_disabled": (
        "the loss is not connected to the network's weights: either gradient tracking was off during the forward pass (torch.no_grad(), torch.set_grad_enabled(False)) or something cut the graph between the network's output and the loss (.detach(), .data, .item(), a tensor rebuilt from numbers). The course calls torch.set_grad_enabled(True) because earlier episodes turned it off",
        "损失与网络的权重没有连接：要么前向传播时梯度跟踪被关闭了（torch.no_grad()、torch.set_grad_enabled(False)），要么在网络输出与损失之间有操作切断了计算图（.detach()、.data、.item()、用数值重新构造的张量）。课程中调用 torch.set_grad_enabled(True)，正是因为之前的章节把它关掉了",
    ),
    "hint.grad_disabled_at": (
        "gradient tracking was turned off by {where} (torch.set_grad_enabled(False)?). The seed calls torch.set_grad_enabled(True) because earlier episodes turned it off",
        "梯度跟踪被 {where} 关闭了（torch.set_grad_enabled(False)？）。课程中调用 torch.set_grad_enabled(True)，正是因为之前的章节把它关掉了",
    ),
    "hint.matmul_shapes": (
        "a linear layer gets {got} numbers per image but expects {want}: in the seed the sizes chain 12*4*4 = 192 -> 120 -> 60 -> 10, each layer once, in order",
        "某个全连接层每张图像收到 {got} 个数，但它期望 {want} 个：课程中各层大小依次为 12*4*4 = 192 -> 120 -> 60 -> 10，每层一次，按顺序",
    ),
    "hint.reshape_size": (
        "a reshape or view asks for shape {shape}, which does not fit the {size} numbers it is given: let -1 stand for the batch (to flatten: t.reshape(-1, 12*4*4))",
        "reshape 或 view 要求的形状 {shape} 与它收到的 {size} 个数不符：请用 -1 表示批大小（展平：t.reshape(-1, 12*4*4)）",
    ),
    "hint.use_reshape": (
        "view needs contiguous memory, and an operation before it (a transpose or permute) changed the layout: flatten the tensor as the layer gave it, t.reshape(-1, 12*4*4), with no transpose",
        "view 需要连续内存，而它之前的某个操作（transpose 或 permute）改变了内存布局：请直接展平该层给出的张量，t.reshape(-1, 12*4*4)，不要 transpose",
    ),
    "hint.batch_mismatch": (
        "the loss got {got} rows of predictions for {want} labels: it needs one row per image and every label of the batch (a forward that keeps one row per image, t.reshape(-1, 12*4*4), and the labels unsliced)",
        "损失函数收到了 {got} 行预测和 {want} 个标签：它需要每张图像一行预测，以及这一批的全部标签（前向传播要保持每张图像一行，t.reshape(-1, 12*4*4)，标签不要切片）",
    ),
    "hint.second_backward": (
        "backward() runs twice on one graph: compute the loss once per batch and call backward() once",
        "同一个计算图上调用了两次 backward()：每批数据只计算一次损失、调用一次 backward()",
    ),
    "hint.numpy_requires_grad": (
        "preds requires grad: count with tensor operations, preds.argmax(dim=1).eq(labels).sum().item()",
        "preds 需要梯度：请用张量运算计数，preds.argmax(dim=1).eq(labels).sum().item()",
    ),
    "hint.numpy_cuda": ("the tensor is on the GPU: use tensor operations and .item()", "张量在 GPU 上：请使用张量运算和 .item()"),
    "hint.argmax_dim": (
        "argmax over the wrong dimension: preds.argmax(dim=1) gives each image's class; dim=0 gives an image for each class",
        "argmax 用错了维度：preds.argmax(dim=1) 给出每张图像的类别；dim=0 给出的是每个类别对应的图像",
    ),
    "hint.argmax_flat": (
        "argmax without dim looks at the whole tensor at once: use preds.argmax(dim=1)",
        "不带 dim 的 argmax 把整个张量当作一个整体：请用 preds.argmax(dim=1)",
    ),
    "hint.max_values": (
        "max(dim=1) gives the values first; the class is the index: preds.argmax(dim=1)",
        "max(dim=1) 首先返回的是最大值；类别是下标：preds.argmax(dim=1)",
    ),
    "hint.count_fraction": ("return the number of correct predictions, not the fraction", "请返回预测正确的数量，而不是比例"),
    "hint.count_wrong": ("this is the number of wrong predictions: count where argmax equals the label", "这是预测错误的数量：请统计 argmax 等于标签的个数"),
    "hint.labels_dtype": (
        "your error is exactly what the loss raises when given {code}: it takes the labels as int64 class indices, as the loader gives them; pass labels unchanged",
        "你的错误与把 {code} 传给损失函数时引发的错误完全相同：损失函数接收 int64 类别下标形式的标签，正如 loader 给出的那样；请原样传入 labels",
    ),
    "hint.inplace": ("an in-place operation changed a tensor backward needs: use t = F.relu(t) rather than in-place forms", "原地操作修改了 backward 需要的张量：请用 t = F.relu(t) 而不是原地操作"),
    "hint.conv_input": (
        "a conv layer got an input of shape {shape}: it takes the images as the loader gives them, (N, 1, 28, 28); pass them on without flatten, squeeze or unsqueeze",
        "卷积层收到的输入形状为 {shape}：它接收加载器给出的图像，(N, 1, 28, 28)；请原样传入，不要 flatten、squeeze 或 unsqueeze",
    ),
    "hint.item_on_batch": (".item() (and int()) work on one number only: sum first, e.g. .sum().item()", ".item()（以及 int()）只能用于单个数：请先求和，例如 .sum().item()"),
    "hint.same_device": ("create new tensors on the device of the input (images.device)", "请在输入所在的设备上创建新张量（images.device）"),
    "hint.return_item": ("return a Python number: loss.item() or .sum().item()", "请返回 Python 数字：loss.item() 或 .sum().item()"),
    "hint.return_float_count": ("a count is a whole number: return an int", "数量是整数：请返回 int"),
    "hint.return_bool": ("return the count, not a comparison", "请返回数量，而不是比较结果"),
    "hint.return_int": ("convert with int(...) or .item()", "请用 int(...) 或 .item() 转换"),
    "hint.return_nothing": ("training_step returns nothing: end it with return loss.item()", "training_step 没有返回值：请在最后 return loss.item()"),
    "hint.forward_returns_nothing": ("forward returns nothing: end it with return t (the out layer's output)", "forward 没有返回值：请在最后 return t（out 层的输出）"),
    "hint.return_float": ("return loss.item()", "请 return loss.item()"),
    "hint.summed_loss": (
        "this is the summed loss (100 times the mean): use F.cross_entropy(preds, labels) with its default mean",
        "这是求和的损失（平均值的 100 倍）：请使用 F.cross_entropy(preds, labels) 的默认平均",
    ),
    "hint.loss_after_update": (
        "this is the loss after the update: return the loss computed before optimizer.step()",
        "这是更新之后的损失：请返回 optimizer.step() 之前计算的损失",
    ),
    "hint.no_backward": ("loss.backward() is missing, so there are no gradients to step with", "缺少 loss.backward()，所以没有梯度可用于更新"),
    "hint.no_step": (
        "optimizer.step() is missing, or it is called before loss.backward()",
        "缺少 optimizer.step()，或者它在 loss.backward() 之前被调用",
    ),
    "hint.loss_up": (
        "your numbers match minimising minus the loss: the update goes uphill; call backward() on the loss itself (no minus sign)",
        "你的结果与最小化损失的相反数一致：更新方向反了；请对损失本身调用 backward()（不要加负号）",
    ),
    "hint.mistake.no_zero_grad": (
        "your numbers match training without optimizer.zero_grad(): gradients pile up from batch to batch",
        "你的结果与不调用 optimizer.zero_grad() 的训练一致：梯度在批次之间不断累加",
    ),
    "hint.steps_per_batch": (
        "optimizer.step() ran {n} times for this batch (counted): step once per batch",
        "这一批中 optimizer.step() 被调用了 {n} 次（已计数）：每批只更新一次",
    ),
    "hint.mistake.double_step": (
        "your numbers match calling optimizer.step() twice per batch: call it once",
        "你的结果与每批调用两次 optimizer.step() 一致：只调用一次",
    ),
    "hint.mistake.fresh_optimizer": (
        "your numbers match a new optimizer made at every step: use the optimizer you are given, so Adam keeps its state",
        "你的结果与每一步都新建优化器一致：请使用传入的优化器，让 Adam 保留它的状态",
    ),
    "hint.mistake.step_before_backward": (
        "your numbers match training where the weights never move: optimizer.step() is missing, or it comes before loss.backward() (the order is zero_grad, forward, loss, backward, step)",
        "你的结果与权重从未改变的训练一致：缺少 optimizer.step()，或者它在 loss.backward() 之前（正确的顺序是 zero_grad、前向、损失、backward、step）",
    ),
    "hint.zero_grad_between": (
        "optimizer.zero_grad() comes between loss.backward() and optimizer.step(): it wipes the gradients before the step can use them; zero them before the forward pass",
        "optimizer.zero_grad() 放在了 loss.backward() 和 optimizer.step() 之间：梯度在更新前就被清掉了；请在前向传播之前清零梯度",
    ),
    "hint.mistake.nll_on_logits": (
        "F.nll_loss expects log-probabilities; on raw logits it is just minus the right logit (it can go negative): use F.cross_entropy(preds, labels)",
        "F.nll_loss 需要的是对数概率；直接用于原始 logits 时它只是正确类别 logit 的相反数（可能为负）：请使用 F.cross_entropy(preds, labels)",
    ),
    "hint.mistake.softmax_in_loss": (
        "F.cross_entropy applies log_softmax itself: give it the raw logits, not softmax(preds)",
        "F.cross_entropy 内部已经做了 log_softmax：请传入原始 logits，而不是 softmax(preds)",
    ),
    "hint.mistake.sum_loss": (
        "your numbers match the summed loss: use F.cross_entropy(preds, labels) with its default mean",
        "你的结果与求和的损失一致：请使用 F.cross_entropy(preds, labels) 的默认平均",
    ),
    "hint.loop_stopped": (
        "the loop stops early: only the first {k} of the {n} batches are ever fetched from the loader; run over every batch (no break or return inside the loop)",
        "循环提前结束了：{n} 个批次中只从 loader 取了前 {k} 个；请遍历每一个批次（循环里不要 break 或 return）",
    ),
    "hint.new_network": (
        "every batch is taken from the loader, but the network train_epoch is given is never called: train the network train_epoch is given (not a new Network() or another model)",
        "每个批次都从 loader 取出了，但传给 train_epoch 的 network 从未被调用：请训练传给 train_epoch 的那个 network（不要新建 Network() 或用别的模型）",
    ),
    "hint.new_network_device": (
        "the network train_epoch is given is never called, and your error is exactly what a new Network() made on the CPU raises on this batch: train the network train_epoch is given (not a new Network() or another model)",
        "传给 train_epoch 的 network 从未被调用，而你的错误与在 CPU 上新建的 Network() 处理这个批次时报的错误完全一致：请训练传给 train_epoch 的那个 network（不要新建 Network() 或用别的模型）",
    ),
    "hint.loop_forward_no_grad": (
        "network(images) ran with gradient tracking off on this batch, so its output has no graph for backward(): run the forward pass with tracking on (no torch.no_grad() block around it)",
        "这一批上 network(images) 运行时梯度跟踪是关着的，所以它的输出没有可供 backward() 的计算图：请在跟踪开启时做前向传播（不要包在 torch.no_grad() 里）",
    ),
    "hint.loop_graph_cut": (
        "the output of network(images) on this batch had a grad_fn (tracking was on), yet the tensor backward() ran on has none: something between the network's output and loss.backward() cut the graph (.detach(), .data, a tensor rebuilt from numbers)",
        "这一批上 network(images) 的输出有 grad_fn（梯度跟踪是开着的），但调用 backward() 的张量没有：网络输出与 loss.backward() 之间有操作切断了计算图（.detach()、.data、用数值重新构造的张量）",
    ),
    "hint.loader_unused": (
        "the loader is never iterated: no batch is taken, no forward pass, no step; train_epoch must loop over it (for images, labels in loader:)",
        "loader 从未被遍历：没有取出任何批次，没有前向传播，也没有 step；train_epoch 必须遍历它（for images, labels in loader:）",
    ),
    "hint.batches_unused": (
        "all {n} batches are fetched, but batch {unused} got no forward pass and no step, the others one each: train on every batch the loader gives (no slice such as list(loader)[:-1], no batch skipped)",
        "{n} 个批次都被取出了，但第 {unused} 批没有前向传播也没有 step，其余各一次：请用 loader 给出的每一个批次训练（不要 list(loader)[:-1] 这样的切片，不要跳过批次）",
    ),
    "found.pass_lengths": ("{n} passes over the loader, fetching {lengths} batches", "对 loader 遍历了 {n} 次，分别取了 {lengths} 个批次"),
    "where.in_call": ("{where}, call {k} of {n}", "{where}，第 {k} 次调用（共 {n} 次）"),
    "hint.loop_targets_swapped": (
        "replaying `for labels, images in loader:` raises exactly your exception on this batch: each batch is (images, labels), in that order",
        "在这一批上重放 `for labels, images in loader:` 会抛出与你完全相同的异常：每个批次是 (images, labels)，顺序如此",
    ),
    "hint.batch_not_unpacked": (
        "replaying network(batch) on the whole (images, labels) batch raises exactly your exception: unpack each batch (for images, labels in loader:)",
        "对整个 (images, labels) 批次重放 network(batch) 会抛出与你完全相同的异常：请拆开每个批次（for images, labels in loader:）",
    ),
    "hint.count_args_swapped": (
        "replaying get_num_correct(labels, preds) on this batch raises exactly your exception: the predictions come first, get_num_correct(preds, labels)",
        "在这一批上重放 get_num_correct(labels, preds) 会抛出与你完全相同的异常：预测在前，get_num_correct(preds, labels)",
    ),
    "hint.total_other": (
        "your {name} adds up the other total's per-batch values: total_loss += loss.item(), total_correct += get_num_correct(preds, labels)",
        "你的 {name} 累加的是另一个总数的每批数值：total_loss += loss.item()，total_correct += get_num_correct(preds, labels)",
    ),
    "hint.total_over_images": (
        "this is the sum of the batch losses divided by the number of images (as len(loader.dataset)): return the sum itself",
        "这是各批损失之和除以图像总数（如 len(loader.dataset)）：请直接返回这个和",
    ),
    "hint.total_per_image": (
        "this is the mean loss per image (each batch's loss weighted by its size, divided by the number of images): return the sum of the batch losses",
        "这是每张图像的平均损失（各批损失按批大小加权后除以图像数）：请返回各批损失之和",
    ),
    "hint.step_once": (
        "the given optimizer stepped once, after the forward pass of the last batch; batches 1 to {last} got no step: call optimizer.step() inside the loop, once per batch",
        "传入的优化器只在最后一批的前向传播之后 step 了一次；第 1 到 {last} 批都没有 step：请在循环内每批调用一次 optimizer.step()",
    ),
    "hint.total_start": (
        "your {name} minus the right sum is {c} on both calls, whatever the number of batches: it starts at {c}; start it at 0 ({name} = 0)",
        "两次调用中你的 {name} 减去正确的和都是 {c}，与批次数无关：它从 {c} 开始；请从 0 开始（{name} = 0）",
    ),
    "hint.total_per_batch": (
        "your {name} minus the right sum is {c} times the number of batches, on both calls: each batch adds {c} more than {what}; add exactly {what}",
        "两次调用中你的 {name} 减去正确的和都是批次数的 {c} 倍：每批比 {what} 多加了 {c}；请恰好累加 {what}",
    ),
    "hint.total_subtracted": (
        "your {name} is exactly minus the right sum, on both calls: each batch's value is subtracted; add it ({name} += {add})",
        "两次调用中你的 {name} 都恰好是正确的和的相反数：每批的数值被减去了；请加上它（{name} += {add}）",
    ),
    "hint.total_repeated": (
        "your {name} is exactly {n} times the right sum, on both calls: each batch's value is added {n} times; add it once per batch",
        "两次调用中你的 {name} 都恰好是正确的和的 {n} 倍：每批的数值被加了 {n} 次；每批只加一次",
    ),
    "hint.total_scaled": (
        "your {name} is exactly {c} times the right sum, on both calls: add {add} as it is, unscaled",
        "两次调用中你的 {name} 都恰好是正确的和的 {c} 倍：请直接累加 {add}，不要缩放",
    ),
    "hint.total_correct_float": (
        "total_correct has the right value but is a float: keep the count an int (add the int that get_num_correct returns)",
        "total_correct 的数值正确，但它是 float：计数请保持为 int（累加 get_num_correct 返回的 int）",
    ),
    "hint.loader_restarted": ("iterate over the loader once (for images, labels in loader:): each iter(loader) or next(iter(loader)) starts over at the first batch", "只遍历一次 loader（for images, labels in loader:）：每次 iter(loader) 或 next(iter(loader)) 都会从第一个批次重新开始"),
    "expected.forward_given": ("a forward pass of the network train_epoch is given", "对传入的 network 做一次前向传播"),
    "expected.one_pass": ("one pass over the loader", "对 loader 遍历一遍"),
    "found.passes": ("the loader started {n} times", "loader 被重新开始了 {n} 次"),
    "hint.enumerate_batch": (
        "an int went where a tensor belongs: enumerate(loader) gives (index, batch) pairs, so write for i, (images, labels) in enumerate(loader)",
        "本该是张量的地方传入了 int：enumerate(loader) 给出的是 (序号, 批次)，请写成 for i, (images, labels) in enumerate(loader)",
    ),
    "hint.loop_twice": (
        "the loader is iterated {n} times in full (every batch fetched {n} times): one epoch is one pass over it",
        "loader 被完整遍历了 {n} 次（每个批次取了 {n} 次）：一个 epoch 只遍历一遍",
    ),
    "hint.return_pair": ("end with return total_loss, total_correct", "最后请 return total_loss, total_correct"),
    "hint.total_mean": ("this is the mean of the batch losses: add them up instead", "这是各批损失的平均值：请把它们加起来"),
    "hint.total_last": ("this is the last batch only: add up over all batches", "这只是最后一批：请对所有批次求和"),
    "hint.total_times_batch": (
        "the losses are multiplied by the batch size: add up loss.item() as it is",
        "损失乘上了批大小：请直接累加 loss.item()",
    ),
    "hint.correct_after_update": (
        "this counts predictions made after the update: count with the preds of the forward pass before optimizer.step()",
        "这统计的是更新之后的预测：请使用 optimizer.step() 之前那次前向传播的 preds 计数",
    ),
    "hint.low_accuracy": (
        "the network does not learn enough in one epoch: look at the other training_loop and training_step checks first",
        "网络在一个 epoch 中学得不够：请先看 training_loop 和 training_step 的其他检查",
    ),
    "hint.test_split": ("this is the test split: pass train=True", "这是测试集：请传入 train=True"),
    "hint.to_tensor": ("add transform=transforms.ToTensor()", "请添加 transform=transforms.ToTensor()"),
    "where.second_iter": ("iter(loader) a second time (the next epoch)", "第二次 iter(loader)（下一个 epoch）"),
    "expected.first_batch_again": ("the first batch again", "再次得到第一批"),
    "found.no_restart": ("not the first batch: it went on where the first pass stopped, or gave nothing", "不是第一批：它从上一次停下的地方继续，或者什么也没有给出"),
    "hint.loader_one_pass": (
        "what make_train_loader returns ({type}) can be iterated only once: return the DataLoader itself (not iter(...) of it, nor a generator), so each epoch's for loop starts over",
        "make_train_loader 返回的对象（{type}）只能遍历一次：请直接返回 DataLoader（不要返回 iter(...)，也不要返回生成器），这样每个 epoch 的 for 循环都会从头开始",
    ),
    "hint.image_shape": (
        "ToTensor() gives (1, 28, 28): use it alone, with no transform that changes the shape (squeeze, flatten, Resize, Pad, CenterCrop, Grayscale(num_output_channels=3))",
        "ToTensor() 给出 (1, 28, 28)：只用它，不要加改变形状的变换（squeeze、flatten、Resize、Pad、CenterCrop、Grayscale(num_output_channels=3)）",
    ),
    "hint.normalize": (
        "your pixels are exactly {map}, what Normalize(mean={mean}, std={std}) gives: use ToTensor() only: this exercise adds no Normalize",
        "你的像素值恰好是 {map}，相当于 Normalize(mean={mean}, std={std})：只用 ToTensor()：本练习不加 Normalize",
    ),
    "hint.flip": (
        "your images are ToTensor()'s, some of them flipped, as {flip} does: use ToTensor() only, no augmentation",
        "你的图像就是 ToTensor() 的结果，其中一些被翻转了，和 {flip} 一样：只用 ToTensor()，不要数据增强",
    ),
    "hint.transposed": (
        "your images are ToTensor()'s transposed (rows and columns swapped): use ToTensor() only",
        "你的图像是 ToTensor() 结果的转置（行列互换）：只用 ToTensor()",
    ),
    "hint.target_transform": ("labels are the dataset's own class numbers: no target_transform", "标签就是数据集自带的类别编号：不要使用 target_transform"),
    "hint.shuffle": ("keep the dataset order: no shuffle=True or sampler", "保持数据集的顺序：不要设置 shuffle=True 或 sampler"),
    "hint.batch_size": ("pass batch_size on to DataLoader(train_set, batch_size=batch_size)", "请把 batch_size 传给 DataLoader(train_set, batch_size=batch_size)"),
    "hint.float_labels": ("F.cross_entropy needs class numbers as integers (int64): keep the dataset's own int labels, no target_transform that makes floats", "F.cross_entropy 需要整数（int64）形式的类别编号：保留数据集自带的 int 标签，不要用把标签变成浮点数的 target_transform"),
    "expected.int_label": ("the class number as an int ({n})", "整数形式的类别编号（{n}）"),
    "hint.drop_last": ("every image belongs to a batch: no drop_last, no sampler", "每张图像都应属于某个批次：不要 drop_last，也不要 sampler"),
    "ruled.out": (
        "replayed from the same start, none of these gives your numbers: {tried}",
        "从相同的起点重放，以下错误都得不到你的结果：{tried}",
    ),
    "ruled.out_more": (
        "replayed from the same start, none of these gives your numbers: {tried}, and {more} more",
        "从相同的起点重放，以下错误都得不到你的结果：{tried}，另有 {more} 种",
    ),
    "where.returned_call": ("the returned value, call {k} of {n}", "返回值，第 {k} 次调用（共 {n} 次）"),
    "hint.mistake.lr": (
        "your step is {ratio}x the course's: your numbers match Adam with lr={lr} (the course's is 0.01): use the optimizer as you are given it, without changing its learning rate",
        "你的更新步长是课程的 {ratio} 倍：你的结果与 lr={lr} 的 Adam 一致（课程用 0.01）：请直接使用传入的优化器，不要改它的学习率",
    ),
    "hint.mistake.sgd": (
        "your numbers match plain gradient descent (w -= {lr} * grad, torch.optim.SGD): call optimizer.step() on the Adam optimizer you are given",
        "你的结果与普通梯度下降一致（w -= {lr} * grad，torch.optim.SGD）：请对传入的 Adam 优化器调用 optimizer.step()",
    ),
    "hint.stale_first": (
        "every call returns the first call's loss: a value kept from before (a global or default argument?); return this batch's loss.item()",
        "每次调用都返回第一次调用的损失：这是之前保存下来的值（全局变量或默认参数？）；请返回本批的 loss.item()",
    ),
    "hint.stale_previous": (
        "each call returns the previous call's loss: return this batch's loss.item()",
        "每次调用返回的是上一次调用的损失：请返回本批的 loss.item()",
    ),
    "hint.running_mean": (
        "this is the mean of the losses of all calls so far: return this batch's loss only",
        "这是到目前为止所有调用损失的平均值：请只返回本批的损失",
    ),
    "hint.running_sum": (
        "this is the sum of the losses of all calls so far: return this batch's loss only",
        "这是到目前为止所有调用损失的总和：请只返回本批的损失",
    ),
    "hint.loss_scaled": (
        "on every call the returned loss is {factor} x the cross-entropy: return F.cross_entropy(preds, labels).item() as it is",
        "每次调用返回的损失都是交叉熵的 {factor} 倍：请原样返回 F.cross_entropy(preds, labels).item()",
    ),
    "hint.loss_shifted": (
        "on every call the returned loss is the cross-entropy {shift}: return F.cross_entropy(preds, labels).item() as it is",
        "每次调用返回的损失都是交叉熵 {shift}：请原样返回 F.cross_entropy(preds, labels).item()",
    ),
    "hint.conv_args": (
        "your forward matches the seed's with {layer} = nn.Conv2d(..., {args}): the course's {layer} has no padding, stride 1 and no dilation",
        "你的 forward 与把 {layer} 写成 nn.Conv2d(..., {args}) 的课程代码完全一致：课程中的 {layer} 不加 padding，stride 为 1，没有 dilation",
    ),
    "hint.op_missing": (
        "your forward matches the seed's without {op}: add it back",
        "你的 forward 与去掉 {op} 之后的课程代码完全一致：请把它加回去",
    ),
    "hint.op_misplaced": (
        "your forward matches the seed's with {op} not in its place between {before} and {after} (left out, or moved past its neighbour): the seed applies {before}, {op}, {after}",
        "你的 forward 与 {op} 不在 {before} 和 {after} 之间（被删掉或移到了相邻操作的另一侧）的课程代码完全一致：课程中依次执行 {before}、{op}、{after}",
    ),
    "hint.op_repeated": (
        "your forward matches the seed's with {op} applied twice in a row: apply it once",
        "你的 forward 与把 {op} 连续执行两次的课程代码完全一致：只执行一次",
    ),
    "hint.ops_swapped": (
        "your forward matches the seed's with {first} and {second} in the other order: the seed applies {first} first, then {second}",
        "你的 forward 与把 {first} 和 {second} 顺序颠倒的课程代码完全一致：课程中先执行 {first}，再执行 {second}",
    ),
    "hint.op_replaced": (
        "your forward matches the seed's with {found} in place of {code}: the seed writes {seed}",
        "你的 forward 与用 {found} 代替 {code} 的课程代码完全一致：课程中写作 {seed}",
    ),
    "hint.op_args": (
        "your forward matches the seed's with {found} in place of {code}: the seed writes {seed}",
        "你的 forward 与用 {found} 代替 {code} 的课程代码完全一致：课程中写作 {seed}",
    ),
    "hint.float_size": (
        "your forward matches the seed's with a float size in {code}: `/` always gives a float and sizes must be ints; the seed writes {seed}",
        "你的 forward 与在 {code} 中使用浮点数大小的课程代码完全一致：`/` 总是得到浮点数，而大小必须是整数；课程中写作 {seed}",
    ),
    "hint.layer_arg_missing": (
        "{layer} is built without {arg}: the seed's layer without it raises this same error; the seed defines {layer} as {code}",
        "{layer} 的构造缺少 {arg}：课程中的这一层去掉它会引发完全相同的错误；课程中 {layer} 的定义是 {code}",
    ),
    "hint.layer_float_size": (
        "{layer} gets a float for {arg} (`/` always gives a float): the seed's layer with a float there raises this same error; the seed defines {layer} as {code}",
        "{layer} 的 {arg} 是浮点数（`/` 总是得到浮点数）：课程中的这一层在那里用浮点数会引发完全相同的错误；课程中 {layer} 的定义是 {code}",
    ),
    "hint.super_init": (
        "a layer is assigned before nn.Module.__init__() ran: call super().__init__() first in __init__, before self.conv1 = ...",
        "在 nn.Module.__init__() 运行之前就给层赋值了：请在 __init__ 的第一行调用 super().__init__()，在 self.conv1 = ... 之前",
    ),
    "hint.flatten_order": (
        "your flattened numbers match {code}: the same numbers in another order; flatten the (N, 12, 4, 4) tensor directly with t.reshape(-1, 12*4*4)",
        "你展平后的数值与 {code} 一致：数值相同但顺序不同；请直接对 (N, 12, 4, 4) 的张量使用 t.reshape(-1, 12*4*4)",
    ),
    "hint.shape_see_layer_shapes": (
        "the shapes do not fit: network::layer_shapes shows the first layer whose output has the wrong shape",
        "形状不匹配：network::layer_shapes 会指出第一个输出形状不对的层",
    ),
    "hint.fix_parameters": (
        "your layers differ from the course's (see network::parameters): fix them first, the shapes follow",
        "你的层与课程中的不同（见 network::parameters）：请先修正它们，形状随之而来",
    ),
    "hint.graph_cut": (
        "gradient tracking stayed on, yet the loss has no grad_fn: forward cuts the graph (.detach(), .data, a .numpy() round trip or a torch.no_grad() block)",
        "梯度跟踪一直是开着的，但损失没有 grad_fn：forward 切断了计算图（.detach()、.data、.numpy() 往返或 torch.no_grad() 块）",
    ),
    "hint.other_optimizer": (
        "the weights changed, yet the optimizer train_epoch was given never stepped: train with that optimizer (no new optimizer, no update by hand)",
        "权重变了，但传给 train_epoch 的优化器从未调用 step()：请用这个优化器训练（不要新建优化器，也不要手动更新）",
    ),
    "hint.step_without_grads": (
        "optimizer.step() ran once per batch, yet the weights never moved: there were no gradients when it ran (loss.backward() missing, or after step(), or zero_grad() between them)",
        "每批都调用了一次 optimizer.step()，但权重从未改变：调用时没有梯度（缺少 loss.backward()，或它在 step() 之后，或两者之间调用了 zero_grad()）",
    ),
    "hint.image_dtype": (
        "your images are exactly ToTensor()'s converted to {dtype}: ToTensor() gives float32 in [0, 1]; no dtype conversion after it",
        "你的图像恰好是 ToTensor() 的结果转换成 {dtype}：ToTensor() 给出 [0, 1] 内的 float32；之后不要再转换类型",
    ),
    "hint.pixels_scaled": (
        "your pixels are exactly {map}: a transform after ToTensor() scales them; use ToTensor() only",
        "你的像素值恰好是 {map}：ToTensor() 之后有变换缩放了它们；只用 ToTensor()",
    ),
    "hint.random_crop": (
        "your images are ToTensor()'s, some moved by a few pixels with zeros coming in, as RandomCrop(28, padding=...) does: use ToTensor() only, no augmentation",
        "你的图像就是 ToTensor() 的结果，其中一些平移了几个像素并补零，和 RandomCrop(28, padding=...) 一样：只用 ToTensor()，不要数据增强",
    ),
    "hint.mistake.fresh_optimizer_lr": (
        "your numbers match a new Adam(lr={lr}) made at every step: use the optimizer you are given (lr=0.01), so Adam keeps its state",
        "你的结果与每一步都新建 Adam(lr={lr}) 一致：请使用传入的优化器（lr=0.01），让 Adam 保留它的状态",
    ),
    "hint.total_first": ("this is the first batch only: add up over all batches", "这只是第一批：请对所有批次求和"),
    "hint.total_zero": ("this total stays 0: add to it in the loop (total += ...)", "这个总数一直是 0：请在循环中累加（total += ...）"),
    "hint.count_images": (
        "this counts every image, right or wrong: count only where preds.argmax(dim=1) equals the label",
        "这统计的是所有图像（无论对错）：请只统计 preds.argmax(dim=1) 等于标签的个数",
    ),
    "hint.count_batches": ("this is the number of batches: add get_num_correct(preds, labels) for each batch", "这是批次的数量：请对每一批累加 get_num_correct(preds, labels)"),
    "hint.count_fraction_sum": (
        "this adds up each batch's fraction correct: add up the counts (get_num_correct)",
        "这是把每批的正确比例加起来：请累加正确的数量（get_num_correct）",
    ),
    "hint.totals_swapped": (
        "the two totals are each other's: return total_loss, total_correct in that order",
        "两个总数的位置互换了：请按 total_loss, total_correct 的顺序返回",
    ),
    "hint.loss_after_update_total": (
        "these are the losses after each update: add up the loss computed before optimizer.step()",
        "这些是每次更新之后的损失：请累加 optimizer.step() 之前计算的损失",
    ),
    "hint.argmin": ("this counts argmin: the predicted class is preds.argmax(dim=1)", "这统计的是 argmin：预测的类别是 preds.argmax(dim=1)"),
    "hint.count_percent": ("return the number of correct predictions, not a percentage", "请返回预测正确的数量，而不是百分比"),
    "hint.count_no_eq": (
        "this is the sum of the predicted classes: compare them with the labels first, preds.argmax(dim=1).eq(labels).sum()",
        "这是预测类别的总和：请先和标签比较，preds.argmax(dim=1).eq(labels).sum()",
    ),
    "hint.count_labels": ("this is the sum of the labels: count where preds.argmax(dim=1) equals them", "这是标签的总和：请统计 preds.argmax(dim=1) 与标签相等的个数"),
    # get_num_correct, proven by replaying the count's chain (diagnosis.count_candidates)
    "hint.argmax_dim_range": (
        "preds is (N, 10): it has no dim={dim}, and your error is exactly what preds.argmax(dim={dim}) raises on these inputs: use preds.argmax(dim=1)",
        "preds 的形状是 (N, 10)：没有 dim={dim}，你的报错与 preds.argmax(dim={dim}) 在这些输入上抛出的完全一致：请用 preds.argmax(dim=1)",
    ),
    "hint.argmax_keepdim": (
        "your counts are exactly those of preds.argmax(dim=1, keepdim=True): its (N, 1) classes compared with (N,) labels broadcast to (N, N) pairs; drop keepdim=True",
        "你的计数与 preds.argmax(dim=1, keepdim=True) 的完全一致：形状 (N, 1) 的类别和 (N,) 的标签比较时广播成 (N, N) 对；请去掉 keepdim=True",
    ),
    "hint.max_tuple": (
        "your error is exactly what preds.max(dim=1) raises used as a tensor: it gives (values, indices); the class is preds.argmax(dim=1)",
        "你的报错与把 preds.max(dim=1) 当作张量使用时抛出的完全一致：它返回 (values, indices)；类别是 preds.argmax(dim=1)",
    ),
    "hint.count_no_argmax": (
        "your results (numbers or error) are exactly what comparing preds itself, (N, 10) scores, with the labels gives: take each image's class first, preds.argmax(dim=1).eq(labels)",
        "你的结果（数值或报错）与直接拿 preds 本身（(N, 10) 的分数）和标签比较得到的完全一致：请先取出每张图像的类别，preds.argmax(dim=1).eq(labels)",
    ),
    "hint.count_compare": (
        "your counts are exactly the number of images whose predicted class {rel} its label: count equality, preds.argmax(dim=1).eq(labels)",
        "你的计数恰好是预测类别 {rel} 标签的图像数：请统计相等的个数，preds.argmax(dim=1).eq(labels)",
    ),
    "hint.count_mean_bool": (
        "your error is exactly what .mean() raises on the bool result of eq(): count with .sum(), preds.argmax(dim=1).eq(labels).sum().item()",
        "你的报错与对 eq() 的布尔结果调用 .mean() 时抛出的完全一致：请用 .sum() 计数，preds.argmax(dim=1).eq(labels).sum().item()",
    ),
    "hint.count_any": (
        "your results are exactly those of .{op} on the comparison (one True/False): count with .sum(), preds.argmax(dim=1).eq(labels).sum().item()",
        "你的结果与对比较结果调用 .{op}（只得到一个 True/False）的完全一致：请用 .sum() 计数，preds.argmax(dim=1).eq(labels).sum().item()",
    ),
    # make_train_loader: batch sizes found from the batches themselves (tasks/data/checks.py)
    "hint.batch_default": (
        "make_train_loader(train_set) gives batches of {found}, in order, while batch_size={other} is passed on: the default must be batch_size=100",
        "make_train_loader(train_set) 按顺序给出大小为 {found} 的批次，而 batch_size={other} 能正确传递：默认值必须是 batch_size=100",
    ),
    "hint.batch_size_fixed": (
        "your loader gives batches of {found} whatever batch_size is asked (100 by default, {other} asked): pass it on, DataLoader(train_set, batch_size=batch_size)",
        "无论要求的 batch_size 是多少（默认 100，或要求 {other}），你的加载器给出的批次大小都是 {found}：请把它传下去，DataLoader(train_set, batch_size=batch_size)",
    ),
    "hint.batch_scaled": (
        "your batches hold {factor} x batch_size: {found} for the default 100, {found_other} for {other}: pass batch_size on unchanged, DataLoader(train_set, batch_size=batch_size)",
        "你的批次大小是 batch_size 的 {factor} 倍：默认 100 时为 {found}，要求 {other} 时为 {found_other}：请原样传递 batch_size，DataLoader(train_set, batch_size=batch_size)",
    ),
    "hint.batch_offset": (
        "your batches hold batch_size {shift}: {found} for the default 100, {found_other} for {other}: pass batch_size on unchanged, DataLoader(train_set, batch_size=batch_size)",
        "你的批次大小是 batch_size {shift}：默认 100 时为 {found}，要求 {other} 时为 {found_other}：请原样传递 batch_size，DataLoader(train_set, batch_size=batch_size)",
    ),
    "hint.loader_raises": (
        "your error is exactly what DataLoader(train_set, batch_size={value}) raises: batch_size is 100 by default and passed on, DataLoader(train_set, batch_size=batch_size)",
        "你的报错与 DataLoader(train_set, batch_size={value}) 抛出的完全一致：batch_size 默认是 100，并且要传下去，DataLoader(train_set, batch_size=batch_size)",
    ),
    "hint.loader_subset": (
        "your DataLoader's dataset holds {items} items, not train_set's 60,000 ({batches} batches): give DataLoader train_set itself, not a Subset or other part of it",
        "你的 DataLoader 的数据集只有 {items} 项，而不是 train_set 的 60,000 项（{batches} 个批次）：请把 train_set 本身交给 DataLoader，不要用 Subset 或它的其他部分",
    ),
    # load_train_set, proven by replaying transforms on the same items (diagnosis.name_pixels, name_dtype)
    "hint.pil_to_tensor": (
        "your images are uint8, exactly ToTensor()'s x 255, what PILToTensor() gives: use transforms.ToTensor(), which gives float32 in [0, 1]",
        "你的图像是 uint8，恰好是 ToTensor() 结果的 255 倍，也就是 PILToTensor() 给出的：请用 transforms.ToTensor()，它给出 [0, 1] 内的 float32",
    ),
    "hint.augmentation": (
        "your images are exactly ToTensor()'s with {transform} applied, replayed item by item with the same random draws: use ToTensor() only, no augmentation",
        "你的图像恰好是 ToTensor() 的结果再经过 {transform}（逐项用相同的随机数重放）：只用 ToTensor()，不要数据增强",
    ),
    "hint.dataset_missing_arg": (
        "your error is exactly what the course's FashionMNIST(...) call raises without {arg}=: pass {arg}={arg}",
        "你的报错与课程中的 FashionMNIST(...) 调用缺少 {arg}= 时抛出的完全一致：请传入 {arg}={arg}",
    ),
    "hint.transform_list": (
        "your error is exactly what transform=[transforms.ToTensor()] raises when an item is loaded: a list is not a transform; wrap it, transforms.Compose([transforms.ToTensor()])",
        "你的报错与 transform=[transforms.ToTensor()] 在读取数据项时抛出的完全一致：列表不是变换；请包起来，transforms.Compose([transforms.ToTensor()])",
    ),
    "hint.compose_no_list": (
        "your error is exactly what transforms.Compose(transforms.ToTensor()) raises when an item is loaded: Compose takes a list, transforms.Compose([transforms.ToTensor()])",
        "你的报错与 transforms.Compose(transforms.ToTensor()) 在读取数据项时抛出的完全一致：Compose 接收一个列表，transforms.Compose([transforms.ToTensor()])",
    ),
    "hint.transform_class": (
        "your error is exactly what the class transforms.ToTensor, not an instance, raises when an item is loaded: make one, transforms.ToTensor()",
        "你的报错与传入类 transforms.ToTensor（而不是它的实例）在读取数据项时抛出的完全一致：请创建实例，transforms.ToTensor()",
    ),
    # ----- the HTML report (report_html.py) -----
    "html.title": ("Feedback report: {submission}", "反馈报告：{submission}"),
    "html.unknown": ("unknown", "未知"),
    "html.grader": ("Grader", "评分器"),
    "html.device": ("Device", "设备"),
    "html.duration": ("Grading time", "评分用时"),
    "html.sandbox": ("Sandbox", "沙箱"),
    "html.sandbox.user": ("a user of its own", "独立的用户"),
    "html.sandbox.landlock": ("Landlock", "Landlock"),
    "html.sandbox.network": ("no network", "无网络"),
    "html.sandbox.nproc": ("a process limit", "进程数限制"),
    "html.sandbox.no_new_privs": ("no new privileges", "禁止提权"),
    "html.sandbox.separator": (", ", "、"),
    "html.sandbox.none": ("none: a child process with limits only", "无：仅子进程与资源限制"),
    "html.seconds": ("{seconds} s", "{seconds} 秒"),
    "html.total": ("Total score", "总分"),
    "html.banner.crashed": (
        "Grading crashed before it finished: checks that did not run score 0, so this report is incomplete.",
        "评分在完成之前崩溃了：未运行的检查记 0 分，因此本报告不完整。",
    ),
    "html.banner.timed_out": (
        "Grading was stopped because it took too long: checks that did not run score 0, so this report is incomplete.",
        "评分因用时过长而被停止：未运行的检查记 0 分，因此本报告不完整。",
    ),
    "html.banner.unfinished": (
        "Grading did not finish: checks that did not run score 0, so this report is incomplete.",
        "评分没有完成：未运行的检查记 0 分，因此本报告不完整。",
    ),
    "html.scores": ("Scores", "得分"),
    "html.no_tests": ("No check results: grading stopped before any check ran.", "没有检查结果：评分在任何检查运行之前就停止了。"),
    "html.col.number": ("#", "编号"),
    "html.col.check": ("Check", "检查项"),
    "html.col.score": ("Score", "得分"),
    "html.col.status": ("Status", "状态"),
    "html.col.visibility": ("Visibility", "可见性"),
    "html.status.passed": ("passed", "通过"),
    "html.status.failed": ("failed", "未通过"),
    "html.status.partial": ("failed, partial credit", "未通过，部分得分"),
    "html.visibility.visible": ("visible", "可见"),
    "html.visibility.hidden": ("hidden", "隐藏"),
    "html.visibility.after_due_date": ("after the due date", "截止日期之后可见"),
    "html.visibility.after_published": ("after grades are published", "成绩发布之后可见"),
    "html.exercise.data": ("Prepare the data", "准备数据"),
    "html.exercise.network": ("Build the network", "搭建网络"),
    "html.exercise.num_correct": ("Count correct predictions", "统计预测正确的数量"),
    "html.exercise.training_step": ("One training step", "一步训练"),
    "html.exercise.training_loop": ("A training epoch", "一个训练 epoch"),
    "html.failures": ("What to fix", "需要修改的地方"),
    "html.all_passed": ("Every check passed.", "所有检查都通过了。"),
    "html.shapes": ("Output shape of each layer", "每一层的输出形状"),
    "html.shapes_intro": (
        "For a batch of {n} images: the shape your forward gives at each point, beside the shape the seed's network gives.",
        "对于一批 {n} 张图像：你的 forward 在每个位置给出的形状，与课程中网络给出的形状对照。",
    ),
    "html.col.point": ("Where", "位置"),
    "html.col.expected": ("Expected", "期望"),
    "html.col.found": ("Yours", "你的结果"),
    "html.shape.ok": ("matches", "一致"),
    "html.shape.wrong": ("differs", "不同"),
    "html.no_shapes": (
        "No layer shapes: the network::layer_shapes check did not run, or stopped before forward.",
        "没有各层形状：network::layer_shapes 检查没有运行，或在 forward 之前就停止了。",
    ),
    "html.training": ("Training for one epoch", "训练一个 epoch"),
    "html.loss_caption": (
        "The loss of each of the {batches} batches of {size} images as your train_epoch trained on them.",
        "你的 train_epoch 训练时，{batches} 个批次（每批 {size} 张图像）各自的损失。",
    ),
    "html.accuracy": ("Test accuracy after the epoch: {accuracy}.", "训练一个 epoch 后的测试集准确率：{accuracy}。"),
    "html.train_time": ("Training took {seconds} s.", "训练用时 {seconds} 秒。"),
    "html.confusion_caption": (
        "Rows: the true class of the 10,000 test images; columns: the class your network predicts. The diagonal counts the right answers.",
        "行：10,000 张测试图像的真实类别；列：你的网络预测的类别。对角线上是预测正确的数量。",
    ),
    "html.no_loss_curve": (
        "No loss curve: the training_loop::accuracy check did not run, or did not finish training.",
        "没有损失曲线：training_loop::accuracy 检查没有运行，或训练没有完成。",
    ),
    "html.no_confusion": (
        "No confusion matrix: the training_loop::accuracy check did not run, or did not finish training.",
        "没有混淆矩阵：training_loop::accuracy 检查没有运行，或训练没有完成。",
    ),
    "html.leaderboard": ("Leaderboard", "排行榜"),
    "html.col.name": ("Name", "名称"),
    "html.col.value": ("Value", "数值"),
    "html.lower_better": ("lower is better", "越低越好"),
    # ----- reports -----
    "report.not_run": ("not run (deselected, or the run stopped before it)", "未运行（被取消选择，或运行在此之前停止）"),
    "report.summary": ("{passed} of {total} checks passed; score {score} / {possible}.", "{total} 项检查中通过 {passed} 项；得分 {score} / {possible}。"),
    "report.incomplete": ("The run did not finish: checks not run score 0.", "运行没有完成：未运行的检查记 0 分。"),
    # ----- context -----
    "context.batch_of": ("for a batch of size {n}", "批大小为 {n} 时"),
    "context.case": ("on the case '{case}'", "在用例“{case}”上"),
    # ----- problems running student code -----
    "error.not_implemented": ("not implemented yet: {where}", "尚未实现：{where}"),
    "error.missing_file": ("{file} is missing", "缺少文件 {file}"),
    "error.missing_function": ("{file} defines no {name}", "{file} 中没有定义 {name}"),
    "error.not_a_module": ("Network() must be an nn.Module, found {type}", "Network() 必须是 nn.Module，实际是 {type}"),
    "error.weights_mismatch": (
        "The grader cannot load its weights into your network because its parameters differ: see network::parameters.",
        "评分器无法把权重加载到你的网络中，因为参数不同：请先看 network::parameters。",
    ),
    "error.top_level_definition": (
        "{file} makes {name} only by top-level code in cell {cell}, which the grader does not run: "
        "define it with def (or class) in a cell of its own",
        "{file} 只在第 {cell} 个代码单元格的顶层代码中生成 {name}，评分器不会运行这些代码："
        "请用 def（或 class）在单元格中直接定义它",
    ),
    "error.top_level_name": (
        "{user} uses `{name}`, defined only by top-level code in cell {cell} of {file}, which the grader does not run: "
        "pass it in as an argument, or make it inside the function",
        "{user} 使用了 `{name}`，而它只由 {file} 第 {cell} 个代码单元格中的顶层代码定义，评分器不会运行这些代码："
        "请把它作为参数传入，或在函数内部创建它",
    ),
    "error.bad_notebook": ("cannot read the notebook: {detail}", "无法读取 notebook：{detail}"),
    "error.exception": ("Your code raised {type} in {where}.", "你的代码在 {where} 中抛出了 {type}。"),
    "error.at_import": ("Importing your code raised {type} in {where}.", "导入你的代码时在 {where} 中抛出了 {type}。"),
    "error.in_context": ("{error} ({context})", "{error}（{context}）"),
    "error.exit": ("Your code tried to exit the program in {where}.", "你的代码在 {where} 中试图退出程序。"),
    "error.timeout": ("timed out after {seconds} s in {call}", "在 {call} 中运行超过 {seconds} 秒，超时"),
    "error.memory": ("stopped: used more than {limit} of memory in {call}", "已停止：{call} 使用了超过 {limit} 的内存"),
    "error.crash": ("crashed with {signal} in {call}", "在 {call} 中崩溃（{signal}）"),
    "error.output": ("stopped: printed more than {limit} in {call}", "已停止：{call} 输出超过 {limit}"),
    "error.protocol": ("your code broke the grader's connection in {call}: {detail}", "你的代码在 {call} 中破坏了与评分器的连接：{detail}"),
    # ----- in the notebook kernel (kernel.py, fresh.py) -----
    "kernel.score": ("fcnn-grader {exercises}: {score} / {possible}", "fcnn-grader {exercises}：{score} / {possible}"),
    "kernel.skipped": ("skipped", "已跳过"),
    "kernel.grader_error": ("grader error", "评分器出错"),
    "kernel.skipped_because": ("{n} check(s) skipped: {why}", "{n} 项检查已跳过：{why}"),
    "fresh.title": ("Fresh re-check of the saved notebook {file}", "对已保存的笔记本 {file} 重新检查（全新进程）"),
    "fresh.same": (
        "Graded from the file in a fresh process, as the instructor will: the same verdicts as this kernel.",
        "在全新进程中从文件评分（与教师评分方式相同）：结论与本内核一致。",
    ),
    "fresh.differs": (
        "Graded from the file in a fresh process, as the instructor will, {n} check(s) differ from this kernel: "
        "the kernel holds state the saved notebook does not (a cell run and then edited or deleted, "
        "an unsaved change, cells run out of order). Save, restart the kernel and run all cells.",
        "在全新进程中从文件评分（与教师评分方式相同），有 {n} 项检查与本内核的结论不同：内核中有已保存笔记本里没有的状态"
        "（运行后又修改或删除的单元格、未保存的修改、乱序运行的单元格）。请保存，重启内核并运行全部单元格。",
    ),
    "fresh.row": ("{check}: this kernel {live}, the saved notebook {fresh}", "{check}：本内核 {live}，已保存的笔记本 {fresh}"),
    "fresh.not_checked": ("not checked", "未检查"),
    "fresh.score": ("Score of the saved notebook: {score} / {possible}", "已保存笔记本的得分：{score} / {possible}"),
    "fresh.no_file_colab": (
        "Colab keeps no notebook file next to the kernel: download it (File > Download > Download .ipynb), "
        "then run fcnn-grader check work.ipynb, or upload it and use %fcnn_check all --fresh=PATH.",
        "Colab 的内核旁没有笔记本文件：请下载它（文件 > 下载 > 下载 .ipynb），然后运行 fcnn-grader check work.ipynb，"
        "或者上传它并使用 %fcnn_check all --fresh=路径。",
    ),
    "fresh.no_file": (
        "Cannot tell which file this notebook is saved in: give it, as in %fcnn_check all --fresh=work.ipynb.",
        "无法确定这个笔记本保存在哪个文件中：请指定，例如 %fcnn_check all --fresh=work.ipynb。",
    ),
    "fresh.missing": ("--fresh={path}: no such notebook file", "--fresh={path}：没有这个笔记本文件"),
    "fresh.crashed": ("Grading the saved notebook did not finish ({status}).", "对已保存笔记本的评分没有完成（{status}）。"),
}

MESSAGES: dict[str, dict[str, str]] = {key: {"en": en, "zh": zh} for key, (en, zh) in _M.items()}
