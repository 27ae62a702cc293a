"""`hpctl evaluate`: replay a scenario through the plant physics with the live control cycle
under the baseline rules, the planner as it runs live (mpc) and the planner with perfect
knowledge, beside a lower bound on cost; KPIs, capture ratios, report and plots.

Entry points: `cli.add_arguments` / `cli.run` (the subcommand), `runner.evaluate` (a whole
evaluation), `replay.replay` (one policy), `data.load_evaluation_data` (the inputs).
"""
