"""The faces' one door into the pipeline (the TUI, `talks --batch`, every subcommand).

Nothing in tui/ imports another part of pipeline/ or speakers/ (import-linter checks it in
`make test`). The door has four rooms, each light to import so that `talks --help` stays
fast:

    runs           start a run, ask it things, follow another process's run
    archive        what is filed and what is not; relabel and a person's rename or merge,
                   each taking the run lock itself
    configuration  the config, its secrets and folders, the log
    config_files   first-run answers, the schedule, writing config.toml
    voices         the speaker library and its checks
"""
