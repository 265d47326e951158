"""Only what setup.cfg cannot say: the twistd dropin package next to our own packages."""

from setuptools import find_packages, setup

# twisted_plugins/ is installed as twisted/plugins/ (package_dir in setup.cfg). Never add an
# __init__.py there: it would overwrite Twisted's own and break twistd on uninstall.
setup(packages=[*find_packages(include=["twisted_dns", "twisted_dns.*"]), "twisted.plugins"])
