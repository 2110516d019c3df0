"""fcnn-grader: a pytest plugin that teaches and grades the CNN training process on FashionMNIST."""

__version__ = "0.1.0"


# In a notebook: `%load_ext fcnn_grader`, then `%fcnn_check NAME` (or `fcnn_grader.check(NAME)`).
# Thin and lazy, so that importing the package (the pytest plugin) imports no torch.
def load_ipython_extension(ip):
    from .kernel import load_ipython_extension

    load_ipython_extension(ip)


def check(exercises="all", **options):
    """Check EXERCISES ("training_step", "network,num_correct", "all") against this kernel's definitions."""
    from .kernel import check

    return check(exercises, **options)


def set_lang(lang):
    """The language of the notebook feedback: "en" or "zh"."""
    from .kernel import set_lang

    set_lang(lang)
