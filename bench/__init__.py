"""postbot's benchmark suite: `python -m bench [--quick] [--scenario NAME] [--json OUT]`.

See bench/README.md for what each scenario measures and the targets.
"""
