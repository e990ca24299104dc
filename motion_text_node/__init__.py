"""motion-text: a shared embedding space for human motion and text, run live on ROS 2 robots.

Data flows skeleton -> data -> model -> train -> export -> runtime -> ros / bag. Imports go down the layers of
``tests/test_layering.py`` (the README's Architecture section): errors, paths, checks -> outputs, metrics -> skeleton ->
captions, viz -> data -> runtime -> model -> train -> export -> ros -> bag -> bench, demo -> commands -> cli; the
runtime stands below the model because it only reads what export writes, as files.
"""

__version__ = "0.1.0"
