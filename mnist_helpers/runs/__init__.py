"""Running the notebooks as a pipeline: parameters, recipes, the run folder and its layout, resume,
and the headless runner."""
