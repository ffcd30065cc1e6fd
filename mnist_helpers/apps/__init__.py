"""What a user runs: the drawing canvas, ONNX export and the command line."""
