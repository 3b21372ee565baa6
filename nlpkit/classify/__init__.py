"""Text classification (many-to-one): averaged embeddings, a bidirectional RNN, fine-tuned BERT.

Modules: ``data`` (label<TAB>text examples, prediction inputs), ``vocab`` (word tokenisation and
vocabulary), ``models`` (AvgConfig, BiLSTMConfig and their modules), ``bert_head`` (BertClassifierConfig: BERT
with a classifier on [CLS]), ``encode`` (text -> ids for any architecture), ``vectors`` (--vectors
initialisation), ``build`` (a model for a training job), ``transfer`` (--init: start from a trained
classifier), ``loop`` (batches, early stopping, checkpoints), ``train`` (TrainConfig and the job), ``artifact`` (save/load), ``predict`` (batched
prediction), ``metrics`` (accuracy, macro-F1, confusion matrix), ``evaluate``.
Nothing is imported here, so that ``import nlpkit.classify`` stays free of torch.
"""
