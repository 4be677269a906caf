"""The restoration pipeline, inference only (it never imports training): find the lost region
(masking), fill it (inpaint), colourise (colour, chroma_bins), on an image or a batch (restore), over a
folder (folder); the trained-model file format (model_files) and the shipped model (shipped).
"""
