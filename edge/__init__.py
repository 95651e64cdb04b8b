"""anpr-edge: the software of a roadside ANPR unit.

The unit captures frames, finds and reads number plates with int8 TFLite models, groups the reads
of one vehicle, checks them against locally synced hotlists, stores every read in SQLite and
publishes reads and hits over MQTT.
"""

__version__ = "0.1.0"
