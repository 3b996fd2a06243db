"""What starts repairs without a person: EventBridge deliveries (``events``), the scheduled sweep of
images whose check found items at risk (``sweep``), and the janitor that removes what the project
left behind (``janitor``). Each records executions through ``launchers.start_execution``."""
