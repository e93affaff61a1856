"""Likely mistakes in 04_numpy_two_step, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it."""

from autograder.mistakes import Mistake

# The body of the reference forward loop in two_step_rnn, edited by several mistakes.
LOOP_BODY = (
    "        state = np.tanh(cell_input @ w_cell_state + b_cell)\n"
    "        states[t] = state\n"
    "        outputs[t] = state @ w_output + b_output"
)

MISTAKES = [
    Mistake(
        id="rnn_input_before_state",
        function="two_step_rnn",
        what="[x, state] concatenated instead of [state, x]",
        advice="The first H rows of w_cell_state multiply the state and its last row the input: "
        "concatenate the state first, then the input.",
        replace=(("np.concatenate([state, [x]])", "np.concatenate([[x], state])"),),
    ),
    Mistake(
        id="rnn_relu_instead_of_tanh",
        function="two_step_rnn",
        what="ReLU instead of tanh",
        advice="The new state is np.tanh of the pre-activation, which keeps it in (-1, 1) and "
        "lets negative values through.",
        replace=(
            (
                "np.tanh(cell_input @ w_cell_state + b_cell)",
                "np.maximum(cell_input @ w_cell_state + b_cell, 0.0)",
            ),
        ),
    ),
    Mistake(
        id="rnn_no_cell_bias",
        function="two_step_rnn",
        what="b_cell left out",
        advice="The pre-activation is concat([state, [x]]) @ w_cell_state + b_cell.",
        replace=(("cell_input @ w_cell_state + b_cell", "cell_input @ w_cell_state"),),
    ),
    Mistake(
        id="rnn_output_from_previous_state",
        function="two_step_rnn",
        what="output computed from the previous state",
        advice="Update the state first, then compute the output of the step from the new state.",
        replace=(
            (
                LOOP_BODY,
                "        outputs[t] = state @ w_output + b_output\n"
                "        state = np.tanh(cell_input @ w_cell_state + b_cell)\n"
                "        states[t] = state",
            ),
        ),
    ),
    Mistake(
        id="rnn_state_not_carried",
        function="two_step_rnn",
        what="state not carried over: every step starts from the initial state",
        advice="Feed the new state into the next step: the state variable must be overwritten "
        "inside the loop.",
        replace=(
            (
                LOOP_BODY,
                "        new_state = np.tanh(cell_input @ w_cell_state + b_cell)\n"
                "        states[t] = new_state\n"
                "        outputs[t] = new_state @ w_output + b_output",
            ),
        ),
    ),
    Mistake(
        id="grad_truncated_one_step",
        function="two_step_grad",
        what="gradient truncated to one step (no path from later outputs through the state)",
        advice="dL/ds_t has two terms: w_output from its own output and, except at the last "
        "step, dL/dz_{t+1} @ W_s.T from every later output through the next step.",
        replace=(("d_state = w_output[:, 0] + d_from_later", "d_state = w_output[:, 0]"),),
    ),
    Mistake(
        id="grad_previous_state_derivative",
        function="two_step_grad",
        what="tanh derivative taken at the previous state (1 - s_{t-1}^2)",
        advice="s_t = tanh(z_t), so dL/dz_t = dL/ds_t * (1 - s_t**2), with the state that the "
        "step produced, not the one it read.",
        replace=(("(1.0 - s_t**2)", "(1.0 - states[t] ** 2)"),),
    ),
    Mistake(
        id="grad_not_summed_over_time",
        function="two_step_grad",
        what="w_cell_state and b_cell gradients overwritten at each step, not summed over time",
        advice="The same weights act at every step, so their gradient is the sum of the "
        "contributions of all steps: accumulate with +=.",
        replace=(
            ("d_w_cell_state += np.outer", "d_w_cell_state = np.outer"),
            ("d_b_cell += d_pre", "d_b_cell = d_pre"),
        ),
    ),
    Mistake(
        id="grad_w_output_last_state_only",
        function="two_step_grad",
        what="w_output gradient from the last state only",
        advice="Every output y_t = s_t @ w_output + b_output depends on w_output: sum s_t over "
        "all steps.",
        replace=(("np.sum(states[1:], axis=0)", "states[-1]"),),
    ),
    Mistake(
        id="grad_b_output_one",
        function="two_step_grad",
        what="b_output gradient 1 instead of the number of steps",
        advice="b_output is added to every output, so the gradient of their sum is len(X).",
        replace=(("float(len(X))", "1.0"),),
    ),
]
