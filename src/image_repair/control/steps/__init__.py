"""The repair workflow's steps, one module each, in the order the flow runs them.

``watch_source_image`` runs first only for watched images (events: the flow's first Choice).
``FUNCTIONS`` maps each Function Compute function name (the flow's resourceArn, s.yaml's
functionName) to its step module; ``run(ports, event) -> FlowState`` in every module."""
STEP_MODULES = ("watch_source_image", "check_source_image", "choose_base_image", "launch_repair_instance",
                "wait_until_ready", "start_repair", "wait_for_repair", "release_repair_host", "snapshot_repaired_disk",
                "create_repaired_image", "wait_for_image_check", "clean_up", "finish")


def function_name(step: str) -> str:
    return "image-repair-" + step.replace("_", "-")


FUNCTIONS = {function_name(step): step for step in STEP_MODULES}
START_FUNCTION = "image-repair-start"
