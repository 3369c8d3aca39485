#!/usr/bin/env python3
"""The Udacity deep-learning course's character LSTM (assignment 6_lstm.ipynb), TensorFlow 1 graph.

Reproduces the notebook's model as written there, run through `tf.compat.v1` with eager execution
disabled: 27 symbols (' ' = 0, a-z = 1..26, anything else -> 0), the notebook's `BatchGenerator`
(B cursors at b*floor(N/B); each batch is the last column of the previous one plus T new ones),
one-hot inputs, one LSTM cell with separate ix/im/ib, fx/fm/fb, cx/cm/cb, ox/om/ob variables
initialised with `truncated_normal(shape, -0.1, 0.1)` (i.e. mean -0.1, sd 0.1: the notebook's
quirk) and zero biases, saved_output/saved_state carried between segments, a softmax layer w/b,
mean softmax cross-entropy over the T concatenated outputs, SGD with
exponential_decay(10.0, global_step, 5000, 0.1, staircase=True), clip_by_global_norm 1.25.

Validation as the course computes it: batch 1, 1 unrolling, sample state reset at the start,
exp(mean -log p(next char)) over valid_size predictions, the last one wrapping to the first
character. The first --valid-size characters of --text are the validation slice.

Prints, at the end, one line in the format of `loom lstm train`:
    validation perplexity: X at step N (Y steps/s)
where N is the number of parameter updates done and Y the steps/s of the training loop alone
(batch generation + session.run, as the notebook's loop; the first 10 steps and the validation
passes are not counted).
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
v1 = tf.compat.v1

from course_data import (VOCABULARY_SIZE, BatchGenerator, add_common_arguments,  # noqa: E402  (next to this script)
                         load_text, train, write_json)


def logprob(predictions, labels):
    """Log-probability of the true labels in a predicted batch (the notebook's)."""
    predictions[predictions < 1e-10] = 1e-10
    return np.sum(np.multiply(labels, -np.log(predictions))) / labels.shape[0]


def build_graph(num_nodes, batch_size, num_unrollings, seed):
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            v1.set_random_seed(seed)
        tn = v1.truncated_normal
        # Parameters:
        # Input gate: input, previous output, and bias.
        ix = tf.Variable(tn([VOCABULARY_SIZE, num_nodes], -0.1, 0.1))
        im = tf.Variable(tn([num_nodes, num_nodes], -0.1, 0.1))
        ib = tf.Variable(tf.zeros([1, num_nodes]))
        # Forget gate: input, previous output, and bias.
        fx = tf.Variable(tn([VOCABULARY_SIZE, num_nodes], -0.1, 0.1))
        fm = tf.Variable(tn([num_nodes, num_nodes], -0.1, 0.1))
        fb = tf.Variable(tf.zeros([1, num_nodes]))
        # Memory cell: input, state and bias.
        cx = tf.Variable(tn([VOCABULARY_SIZE, num_nodes], -0.1, 0.1))
        cm = tf.Variable(tn([num_nodes, num_nodes], -0.1, 0.1))
        cb = tf.Variable(tf.zeros([1, num_nodes]))
        # Output gate: input, previous output, and bias.
        ox = tf.Variable(tn([VOCABULARY_SIZE, num_nodes], -0.1, 0.1))
        om = tf.Variable(tn([num_nodes, num_nodes], -0.1, 0.1))
        ob = tf.Variable(tf.zeros([1, num_nodes]))
        # Variables saving state across unrollings.
        saved_output = tf.Variable(tf.zeros([batch_size, num_nodes]), trainable=False)
        saved_state = tf.Variable(tf.zeros([batch_size, num_nodes]), trainable=False)
        # Classifier weights and biases.
        w = tf.Variable(tn([num_nodes, VOCABULARY_SIZE], -0.1, 0.1))
        b = tf.Variable(tf.zeros([VOCABULARY_SIZE]))

        # Definition of the cell computation.
        def lstm_cell(i, o, state):
            """Create a LSTM cell. See e.g.: http://arxiv.org/pdf/1402.1128v1.pdf
            Note that in this formulation, we omit the various connections between the
            previous state and the gates."""
            input_gate = tf.sigmoid(tf.matmul(i, ix) + tf.matmul(o, im) + ib)
            forget_gate = tf.sigmoid(tf.matmul(i, fx) + tf.matmul(o, fm) + fb)
            update = tf.matmul(i, cx) + tf.matmul(o, cm) + cb
            state = forget_gate * state + input_gate * tf.tanh(update)
            output_gate = tf.sigmoid(tf.matmul(i, ox) + tf.matmul(o, om) + ob)
            return output_gate * tf.tanh(state), state

        # Input data.
        train_data = list()
        for _ in range(num_unrollings + 1):
            train_data.append(v1.placeholder(tf.float32, shape=[batch_size, VOCABULARY_SIZE]))
        train_inputs = train_data[:num_unrollings]
        train_labels = train_data[1:]  # labels are inputs shifted by one time step.

        # Unrolled LSTM loop.
        outputs = list()
        output = saved_output
        state = saved_state
        for i in train_inputs:
            output, state = lstm_cell(i, output, state)
            outputs.append(output)

        # State saving across unrollings.
        with tf.control_dependencies([saved_output.assign(output), saved_state.assign(state)]):
            # Classifier.
            logits = v1.nn.xw_plus_b(tf.concat(outputs, 0), w, b)
            loss = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(labels=tf.concat(train_labels, 0), logits=logits))

        # Optimizer.
        global_step = tf.Variable(0)
        learning_rate = v1.train.exponential_decay(10.0, global_step, 5000, 0.1, staircase=True)
        optimizer = v1.train.GradientDescentOptimizer(learning_rate)
        gradients, v = zip(*optimizer.compute_gradients(loss))
        gradients, _ = tf.clip_by_global_norm(gradients, 1.25)
        optimizer = optimizer.apply_gradients(zip(gradients, v), global_step=global_step)

        # Predictions.
        train_prediction = tf.nn.softmax(logits)

        # Sampling and validation eval: batch 1, no unrolling.
        sample_input = v1.placeholder(tf.float32, shape=[1, VOCABULARY_SIZE])
        saved_sample_output = tf.Variable(tf.zeros([1, num_nodes]))
        saved_sample_state = tf.Variable(tf.zeros([1, num_nodes]))
        reset_sample_state = tf.group(
            saved_sample_output.assign(tf.zeros([1, num_nodes])),
            saved_sample_state.assign(tf.zeros([1, num_nodes])))
        sample_output, sample_state = lstm_cell(sample_input, saved_sample_output, saved_sample_state)
        with tf.control_dependencies([saved_sample_output.assign(sample_output),
                                      saved_sample_state.assign(sample_state)]):
            sample_prediction = tf.nn.softmax(v1.nn.xw_plus_b(sample_output, w, b))
        init = v1.global_variables_initializer()

    return graph, dict(train_data=train_data, optimizer=optimizer, loss=loss,
                       train_prediction=train_prediction, learning_rate=learning_rate,
                       sample_input=sample_input, reset_sample_state=reset_sample_state,
                       sample_prediction=sample_prediction, init=init)


def validation_perplexity(session, g, valid_text, valid_size):
    valid_batches = BatchGenerator(valid_text, 1, 1)
    session.run(g["reset_sample_state"])
    valid_logprob = 0
    for _ in range(valid_size):
        b = valid_batches.next()
        predictions = session.run(g["sample_prediction"], {g["sample_input"]: b[0]})
        valid_logprob = valid_logprob + logprob(predictions, b[1])
    return float(np.exp(valid_logprob / valid_size))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--minimal-fetch", action="store_true",
                    help="fetch only the update and the loss each step (the notebook also fetches the "
                         "training softmax and the learning rate)")
    args = ap.parse_args()
    text, train_text, valid_text = load_text(args)

    t0 = time.perf_counter()
    graph, g = build_graph(args.hidden, args.batch, args.unrollings, args.seed)
    config = v1.ConfigProto(intra_op_parallelism_threads=args.threads,
                            inter_op_parallelism_threads=args.threads)
    with v1.Session(graph=graph, config=config) as session:
        session.run(g["init"])
        build_s = time.perf_counter() - t0
        print("Initialized (%.2f s)" % build_s, file=sys.stderr)
        fetches = [g["optimizer"], g["loss"]] if args.minimal_fetch else \
            [g["optimizer"], g["loss"], g["train_prediction"], g["learning_rate"]]

        def step(batches):
            feed_dict = {g["train_data"][i]: batches[i] for i in range(args.unrollings + 1)}
            return session.run(fetches, feed_dict=feed_dict)[1]

        figures = train(args, train_text, step,
                        lambda: validation_perplexity(session, g, valid_text, args.valid_size))
    write_json(args, text, figures, framework="tensorflow", version=tf.__version__, graph_build_s=build_s,
               minimal_fetch=args.minimal_fetch)


if __name__ == "__main__":
    main()
