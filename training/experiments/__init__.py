"""Experiments: measurements that chose a production setting, kept runnable, never imported by it.

Each module is a command that re-runs one measurement on the public corpora and prints (and can
write as JSON) what it found; the production stages in ``training`` record the setting chosen
and name the experiment that chose it. Nothing here is part of ``make train``.

    python -m training.experiments.feedback_weight --data-dir ../shared/data   # feedback weight W
    python -m training.experiments.kind_policies --data-dir ../shared/data     # C3 sarcasm vote policy
"""
