"""A skipgen plugin for the tests: a ConvNeXt block (Liu et al. 2022, "A ConvNet for the 2020s")."""
