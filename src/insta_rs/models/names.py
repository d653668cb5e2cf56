"""The names a config may give an architecture (``arch``) and an input layer (``input_layer.kind``), built by
:func:`insta_rs.models.architectures.build_model`. Free of torch: the config check reads them while parsing."""

ARCHS = ("digits_cnn", "cifar_resnet20", "cifar_resnet110", "resnet50")
INPUT_LAYER_KINDS = ("none", "mean", "meanstd")
