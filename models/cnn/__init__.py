"""The CNN topic: a small ResNet on ShapeWorld (or ImageNet weights), its layers and attributions."""

# captum's methods the studio offers (models.cnn.attributions computes each); the tab lists them
# before torch is imported, so they live here rather than beside the code that imports captum
ATTRIBUTION_METHODS = ("Grad-CAM", "Saliency", "Integrated Gradients", "Occlusion")
