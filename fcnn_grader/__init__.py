"""fcnn-grader: a pytest plugin that teaches and grades the CNN training process on FashionMNIST."""

__version__ = "0.1.0"
