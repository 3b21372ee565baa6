"""BERT: pre-training (masked LM + next-sentence prediction), fill-mask, embeddings, HuggingFace export/import.

Modules: ``model`` (BertConfig, Bert), ``masking``, ``data`` (documents -> NSP pairs), ``stream``
(examples and the engine's batches), ``config`` (PretrainConfig), ``train`` (pre-training, the family on the
training engine), ``artifact`` (save/load), ``use`` (fill-mask, embed), ``hf`` (transformers export/import).
Nothing is imported here, so that ``import nlpkit.bert`` stays free of torch.
"""
