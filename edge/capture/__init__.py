"""Capture: frame sources (picamera2, OpenCV, an image folder, the synthetic road), the capture
stage that feeds the pipeline, and the synthetic road's ground truth."""
