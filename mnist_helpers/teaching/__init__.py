"""What the notebooks show beside the model: worked examples, figures, captions read from a run's
own numbers, live learning curves and the two baseline classifiers."""
