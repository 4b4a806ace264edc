"""The use-case layer: one module per verb, each taking a Session and plain values and returning
a result; none prints or reads argv. The CLI and Python callers both stand on it.

  add       ids and links -> items (paper.py: one paper's steps, links.py: other addresses)
  feed      new submissions in arXiv categories
  check     each item's claims against its paper
  publish   build (newsletter post) and export (JSON, BibTeX, CSV)
  issues    init, new, list, show, rm, mv, star
  batch     the OpenAI Batch API: submit, status, collect
  doctor    the set-up checked before a large run: server, window, cost, speed
  session   the settings, workspace and clients a command uses; runner: one step per input
"""
