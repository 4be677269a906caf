"""The DACON 236420 folder layout: the names and sizes every reader and writer of it shares.

    DATA_DIR/
        train.csv            input_image_path,gt_image_path  (./train_input/TRAIN_00000.png, ...)
        test.csv             input_image_path
        train_input/  train_gt/  test_input/      512x512 PNGs: gray inputs, colour truths
        test_gt/  train_mask/  test_mask/  meta.csv     (the embedded sample only: lets a local run be scored)
        train_split.csv  val_split.csv            notebook 02's split (helpers.data.splits)
"""
IMAGE_SIZE = (512, 512)
TRAIN_COLUMNS = ["input_image_path", "gt_image_path"]
TEST_COLUMNS = ["input_image_path"]
SPLIT_FILES = ("train_split.csv", "val_split.csv")
SAMPLE = "sample"  # DATA_DIR's name for the embedded sample dataset
