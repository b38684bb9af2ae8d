"""Trained assistants: the model store and the live model (registry), an assistant loaded in this
process (assistant), its measurement (evaluation, tuning), a candidate judged against the live
model (comparison), training jobs, and the Rasa server's API that loads a published model."""
