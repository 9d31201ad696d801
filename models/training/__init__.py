"""What studio training shares between the training scripts and the Training lab tab: optimiser,
schedule and augmentation builders (the app never imports ``training_scripts/``)."""
