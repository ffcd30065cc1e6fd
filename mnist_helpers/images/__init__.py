"""Images in and out: reading image files, preprocessing a drawing or photo to MNIST's framing,
and the generated images (drawing-style digits, typed digits, non-digits) for training and
evaluation."""
