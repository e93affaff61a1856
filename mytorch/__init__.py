"""mytorch: the small teaching autograd library this course builds by hand (chapter 05).

It is filled in by the mytorch chapter; the package exists now so the layout is stable.
"""
