"""motion-text: a shared embedding space for human motion and text, run live on ROS 2 robots.

Subpackages, in the order data flows (imports only point one way):
``skeleton`` -> ``data`` -> ``model`` -> ``train`` / ``export``; ``runtime`` -> ``ros`` / ``bag``.
"""

__version__ = "0.1.0"
