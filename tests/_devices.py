"""The devices the contract suites run on: CPU always, CUDA where there is one."""

import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
