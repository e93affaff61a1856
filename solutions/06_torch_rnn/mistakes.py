"""Likely mistakes in 06_torch_rnn, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it.

bidirectional_rnn_forward and stacked_rnn_forward call rnn_forward, so a mistake in rnn_forward
also shows in them (``affects``)."""

from autograder.mistakes import Mistake

USES_RNN_FORWARD = ("bidirectional_rnn_forward", "stacked_rnn_forward")

MISTAKES = [
    Mistake(
        id="forward_one_bias",
        function="rnn_forward",
        what="only b_ih added: the recurrent bias b_hh is missing",
        advice="nn.RNN adds two biases at every step, b_ih with the input term and b_hh with "
        "the recurrent term: add both.",
        replace=(("+ h @ W_hh.T + b_hh)", "+ h @ W_hh.T)"),),
        affects=USES_RNN_FORWARD,
    ),
    Mistake(
        id="forward_w_ih_not_transposed",
        function="rnn_forward",
        what="x_t @ W_ih instead of x_t @ W_ih.T",
        advice="PyTorch stores W_ih as (H, D), (out features, in features): the input term is "
        "x_t @ W_ih.T (it only happens to run when D == H).",
        replace=(("input[:, t, :] @ W_ih.T", "input[:, t, :] @ W_ih"),),
        affects=USES_RNN_FORWARD,
    ),
    Mistake(
        id="forward_w_hh_not_transposed",
        function="rnn_forward",
        what="h @ W_hh instead of h @ W_hh.T",
        advice="W_hh is stored as (out features, in features) like every PyTorch weight: the "
        "recurrent term is h_{t-1} @ W_hh.T; the square matrix hides the missing transpose.",
        replace=(("h @ W_hh.T", "h @ W_hh"),),
        affects=USES_RNN_FORWARD,
    ),
    Mistake(
        id="forward_relu",
        function="rnn_forward",
        what="ReLU instead of tanh",
        advice="nn.RNN's default nonlinearity is tanh.",
        replace=(("h = torch.tanh(", "h = torch.relu("),),
        affects=USES_RNN_FORWARD,
    ),
    Mistake(
        id="forward_h_n_first_step",
        function="rnn_forward",
        what="h_n taken from the first time step",
        advice="h_n is the state after the last time step, output[:, -1] with a leading "
        "axis of length one.",
        replace=(("h_n = h.unsqueeze(0)", "h_n = states[0].unsqueeze(0)"),),
        affects=USES_RNN_FORWARD,
    ),
    Mistake(
        id="forward_time_major_reshape",
        function="rnn_forward",
        what="states stacked time-major and reshaped to (B, T, H) instead of transposed",
        advice="Stacking the states gives (T, B, H); reshape reorders the numbers, only a "
        "transpose (or stacking along dim=1) puts sequence b, step t at output[b, t].",
        replace=(
            (
                "output = torch.stack(states, dim=1)",
                "output = torch.stack(states, dim=0).reshape(B, T, H)",
            ),
        ),
        affects=USES_RNN_FORWARD,
    ),
    Mistake(
        id="bidir_backward_not_reversed_back",
        function="bidirectional_rnn_forward",
        what="the backward direction's outputs left in reversed time order",
        advice="The backward direction reads the flipped sequence: flip its outputs back so "
        "that output[:, t, H:] belongs to step t.",
        replace=(
            (
                "out_b = torch.flip(out_b_reversed, dims=(1,))",
                "out_b = out_b_reversed",
            ),
        ),
    ),
    Mistake(
        id="bidir_h_n_backward_first",
        function="bidirectional_rnn_forward",
        what="h_n with the backward direction first",
        advice="nn.RNN orders h_n by direction, forward first: h_n[0] forward, h_n[1] backward.",
        replace=(("torch.cat([h_f, h_b], dim=0)", "torch.cat([h_b, h_f], dim=0)"),),
    ),
    Mistake(
        id="bidir_backward_from_h0_0",
        function="bidirectional_rnn_forward",
        what="the backward direction started from h0[0]",
        advice="Each direction has its own initial state: h0[0] for forward, h0[1] for backward.",
        replace=(("*bwd, h0[1])", "*bwd, h0[0])"),),
    ),
    Mistake(
        id="stacked_all_read_input",
        function="stacked_rnn_forward",
        what="every layer fed the original input instead of the layer below",
        advice="Layer l + 1 reads the output sequence of layer l, not the input (it only "
        "happens to run when D == H).",
        replace=(
            (
                "sequence, h_last = rnn_forward(sequence, *weights",
                "sequence, h_last = rnn_forward(input, *weights",
            ),
        ),
    ),
    Mistake(
        id="stacked_h0_first_layer_everywhere",
        function="stacked_rnn_forward",
        what="every layer started from h0[0]",
        advice="Layer l starts from its own initial state h0[l].",
        replace=(("*weights, h0[index])", "*weights, h0[0])"),),
    ),
    Mistake(
        id="classifier_first_step",
        function="RNNClassifier",
        what="logits from the first time step, output[:, 0]",
        advice="Classify from the hidden state at the last time step, output[:, -1], the only "
        "one that has seen the whole sequence.",
        replace=(("self.fc(output[:, -1, :])", "self.fc(output[:, 0, :])"),),
    ),
    Mistake(
        id="classifier_not_batch_first",
        function="RNNClassifier",
        what="nn.RNN without batch_first=True",
        advice="The inputs are (batch, time, features): create the RNN with batch_first=True, "
        "otherwise it reads the batch axis as time.",
        replace=(
            (
                "nn.RNN(input_size, hidden_size, num_layers, batch_first=True)",
                "nn.RNN(input_size, hidden_size, num_layers)",
            ),
        ),
    ),
    Mistake(
        id="classifier_h_n_first_layer",
        function="RNNClassifier",
        what="logits from h_n[0], the first layer's final state",
        advice="h_n holds one final state per layer, bottom first: the top layer's is h_n[-1] "
        "(the same as output[:, -1]).",
        replace=(
            (
                "output, _ = self.rnn(x)",
                "_, h_n = self.rnn(x)",
            ),
            ("self.fc(output[:, -1, :])", "self.fc(h_n[0])"),
        ),
    ),
]
