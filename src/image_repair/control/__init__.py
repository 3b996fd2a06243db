"""The control plane: the repair workflow's Function Compute handlers, its steps and their ports
(the ECS port over the Alibaba SDKs, the state store), the local CloudFlow runner, and what starts
repairs (the start function, EventBridge events, the scheduled sweep).

Layers, highest first (docs/architecture.md; tests/unit/test_architecture.py enforces them):
handlers > triggers > launchers > local_run > steps > flow | clients | store > models, policy...
> the agent. Nothing here imports the CLI, the emulator, ``image_repair.testing`` or the lab.
"""
