"""SAM = segment_anything's own ``Sam``, built small, split into the two graphs a runtime runs.

- The studio model is ``segment_anything.modeling``'s classes at ShapeWorld size
  (``STUDIO_SAM``): ``ImageEncoderViT`` on 256 px with 16 px patches (a 16 x 16 embedding),
  width 192, 4 blocks (windowed attention, global in blocks 1 and 3); ``PromptEncoder`` and
  ``MaskDecoder`` + ``TwoWayTransformer`` at width 128 (SAM's are 256). 2.9 M parameters; it
  works unchanged with ``SamPredictor``, ``SamAutomaticMaskGenerator`` and ``SamOnnxModel``.
  Width 128 instead of 256 halves the file and the click latency; in a probe on 2 cores the
  training step cost the same.
- Pretrained ``vit_b`` / ``vit_l`` / ``vit_h`` come from ``sam_model_registry`` (models/sam/sources).
- ``ImageEncoderGraph``: pixels (already resized, normalised, padded) -> image embedding. It is
  ``sam.image_encoder`` itself: the graph SAM computes once per image.
- ``PromptDecoderGraph``: image embedding + points + labels (+ mask input) -> masks, IoU
  scores; segment_anything's own ``SamOnnxModel`` (the graph SAM's ONNX export ships), so each
  click runs only the prompt encoder and mask decoder.

Nothing here reads files or knows the UI.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

# Everything that shapes the studio network. Stored verbatim in the card.
STUDIO_SAM = {
    "image_size": 256, "patch_size": 16, "encoder_width": 192, "encoder_depth": 4,
    "encoder_heads": 6, "window_size": 8, "global_attn_indexes": [1, 3],
    "prompt_dim": 128, "decoder_depth": 2, "decoder_mlp": 512, "decoder_heads": 8,
    "mask_in_chans": 16,
}
# SAM's own normalisation (ImageNet mean/std in 0-255): the pretrained models expect it, and
# the studio model uses it too so one predictor serves both.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def build_studio_sam(cfg: dict | None = None):
    """A randomly initialised small ``segment_anything.modeling.Sam`` (eval mode)."""
    from segment_anything.modeling import (ImageEncoderViT, MaskDecoder, PromptEncoder, Sam,
                                           TwoWayTransformer)
    c = {**STUDIO_SAM, **(cfg or {})}
    grid = c["image_size"] // c["patch_size"]
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=c["image_size"], patch_size=c["patch_size"], embed_dim=c["encoder_width"],
            depth=c["encoder_depth"], num_heads=c["encoder_heads"], mlp_ratio=4,
            norm_layer=partial(nn.LayerNorm, eps=1e-6), qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=tuple(c["global_attn_indexes"]), window_size=c["window_size"],
            out_chans=c["prompt_dim"]),
        prompt_encoder=PromptEncoder(
            embed_dim=c["prompt_dim"], image_embedding_size=(grid, grid),
            input_image_size=(c["image_size"], c["image_size"]), mask_in_chans=c["mask_in_chans"]),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=c["decoder_depth"], embedding_dim=c["prompt_dim"],
                                          mlp_dim=c["decoder_mlp"], num_heads=c["decoder_heads"]),
            transformer_dim=c["prompt_dim"], iou_head_depth=3, iou_head_hidden_dim=c["prompt_dim"]),
        pixel_mean=list(PIXEL_MEAN), pixel_std=list(PIXEL_STD),
    )
    return sam.eval()


class PromptDecoderGraph(nn.Module):
    """segment_anything's ``SamOnnxModel`` (prompt encoder + mask decoder) with the inputs a
    runtime feeds: image_embeddings (1, C, g, g), point_coords (1, N, 2) in model-input pixels,
    point_labels (1, N) (1 positive, 0 negative, 2/3 box corners, -1 padding), mask_input
    (1, 1, 4g, 4g), has_mask_input (1,). Returns low-resolution mask logits (1, 4, 4g, 4g) and
    IoU predictions (1, 4): every mask token, so the caller picks single or multimask output.
    """

    def __init__(self, sam):
        super().__init__()
        from segment_anything.utils.onnx import SamOnnxModel
        # return_single_mask=False and no upscaling: SamOnnxModel would otherwise resize to the
        # original image inside the graph, which ties the graph to one picture size.
        self.inner = SamOnnxModel(sam, return_single_mask=False)

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input):
        m = self.inner
        sparse = m._embed_points(point_coords, point_labels)
        dense = m._embed_masks(mask_input, has_mask_input)
        masks, scores = m.model.mask_decoder.predict_masks(
            image_embeddings=image_embeddings,
            image_pe=m.model.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
        )
        return masks, scores


def num_parameters(sam) -> int:
    return sum(p.numel() for p in sam.parameters())


def decode_batch(graph: PromptDecoderGraph, image_embeddings: torch.Tensor,
                 image_index: torch.Tensor, point_coords: torch.Tensor,
                 point_labels: torch.Tensor):
    """The decoder for many images' prompts at once (training, evaluation): prompt p belongs to
    image ``image_index[p]``; no mask input. Returns (P, 4, 4g, 4g) logits, (P, 4) IoU scores.

    segment_anything's ``predict_masks`` repeats one image's embedding for every prompt (one
    image, many clicks); here the embedding is gathered per prompt instead. Everything else is
    the library's own modules, in its order.
    """
    m = graph.inner
    d = m.model.mask_decoder
    sparse = m._embed_points(point_coords, point_labels)
    output_tokens = torch.cat([d.iou_token.weight, d.mask_tokens.weight], dim=0)
    tokens = torch.cat((output_tokens.unsqueeze(0).expand(sparse.size(0), -1, -1), sparse), dim=1)
    src = image_embeddings[image_index] + m.model.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
    pos_src = m.model.prompt_encoder.get_dense_pe().expand(len(image_index), -1, -1, -1)
    b, c, h, w = src.shape
    hs, src = d.transformer(src, pos_src, tokens)
    mask_tokens_out = hs[:, 1:(1 + d.num_mask_tokens), :]
    upscaled = d.output_upscaling(src.transpose(1, 2).view(b, c, h, w))
    hyper_in = torch.stack([d.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :])
                            for i in range(d.num_mask_tokens)], dim=1)
    b, c, h, w = upscaled.shape
    masks = (hyper_in @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
    return masks, d.iou_prediction_head(hs[:, 0, :])
