"""The instructor's side of the course: reference outputs, student notebooks, grading.

``python -m autograder build`` regenerates what comes from solutions/ and
``python -m autograder grade ASSIGNMENT SUBMISSIONS`` grades a folder of submissions.
"""
