"""The heavy stages of each talk run as Ray tasks on a cluster's nodes ([cluster] address).

Only this package imports Ray (an import-linter contract holds it), and only a run with a
cluster imports this package's driver, so a run on this machine alone never loads Ray.

    driver.py   on this machine (the head): connects, ships a talk's audio, submits its task,
                answers the task's ledger calls and forwards its events, as run_in_worker does
    desk.py     the run's mailbox on the cluster (a Ray actor): events and ledger calls up,
                answers and the stop request down
    node.py     on a node: the audio and library put where the job finds them, the node's
                tools and model checked, then the same job a local worker runs
    shipping.py how a file reaches a node: a shared folder's path, or its bytes
"""
