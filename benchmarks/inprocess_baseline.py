"""The peer we measure against: a typical in-process gradescope-utils suite for ps3.py.

It imports the student's file into the grading process itself (no sandbox, no
timeouts) and checks the problem-set instances with unittest, writing results
with gradescope-utils' JSONTestRunner. Used only by bench_grade.py.
Usage: python inprocess_baseline.py SUBMISSION_FOLDER RESULTS_JSON
"""

import sys
import unittest

import numpy as np
from gradescope_utils.autograder_utils.decorators import weight
from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

sys.path.insert(0, sys.argv[1])
import ps3

I = np.array([[2, 0, -1, -1], [0, 1, 0, 2], [-2, 0, 1, 1], [1, 1, 0, -1]])
K = np.array([[1, -1, 1], [0, 1, 0], [1, -1, 1]])


class TestPS3(unittest.TestCase):
    @weight(15)
    def test_q2a(self) -> None:
        self.assertEqual(ps3.mlp_layer_params([150528, 75264, 100]), [11329414656, 7526500])

    @weight(30)
    def test_q2b(self) -> None:
        self.assertEqual(ps3.conv_layer_params(3, 3, 7), 444)
        self.assertEqual(ps3.num_conv_layers(224, 8, 7), 36)
        self.assertEqual(ps3.conv_classifier_params((3, 224, 224), 7, 8, 100), 35284)

    @weight(20)
    def test_q3a(self) -> None:
        self.assertTrue(np.allclose(ps3.conv2d(I, K), [[1, 0], [-1, 4]]))

    @weight(20)
    def test_q3b(self) -> None:
        self.assertEqual(ps3.conv_transpose2d(I, K).shape, (6, 6))

    @weight(15)
    def test_q4(self) -> None:
        self.assertEqual(ps3.downsampling_params(3, [16, 32, 64, 128, 256], 224, 16, 3), 58810528)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TestPS3)
    with open(sys.argv[2], "w") as stream:
        JSONTestRunner(stream=stream, visibility="visible").run(suite)
