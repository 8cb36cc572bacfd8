"""Writes a vector store folder as Python LangChain's FAISS.save_local does.

index.faiss: the faiss index (IndexFlatL2), written by Python faiss.
index.pkl: pickle.dumps((docstore, index_to_docstore_id)), where docstore is a
langchain_community InMemoryDocstore of langchain_core Documents. LangChain is
not needed: stand-ins carry the same module and class names and pickle to the
same opcodes (a Document's state is pydantic v2's: __dict__ plus the private
pydantic fields).

Reads JSON from stdin: {"ids": [...], "texts": [...], "metadatas": [...], "vectors": [[...], ...]}.
Usage: langchain_faiss_store.py OUT_DIR
"""
import json
import os
import pickle
import sys
import types

import faiss
import numpy as np


def stand_in(module_name, cls):
    # Pickle imports the module by name, parent packages first.
    parts = module_name.split('.')
    for end in range(1, len(parts) + 1):
        sys.modules.setdefault('.'.join(parts[:end]), types.ModuleType('.'.join(parts[:end])))
    module = sys.modules[module_name]
    cls.__module__ = module_name
    setattr(module, cls.__name__, cls)
    return cls


class Document:
    def __init__(self, page_content, metadata):
        self.id = None
        self.metadata = metadata
        self.page_content = page_content
        self.type = 'Document'

    def __getstate__(self):
        return {
            '__dict__': dict(self.__dict__),
            '__pydantic_extra__': None,
            '__pydantic_fields_set__': {'page_content', 'metadata'},
            '__pydantic_private__': None,
        }


class InMemoryDocstore:
    def __init__(self, documents):
        self._dict = documents


def main():
    out_dir = sys.argv[1]
    spec = json.load(sys.stdin)
    stand_in('langchain_core.documents.base', Document)
    stand_in('langchain_community.docstore.in_memory', InMemoryDocstore)

    vectors = np.asarray(spec['vectors'], dtype='float32')
    index = faiss.IndexFlatL2(vectors.shape[1])
    index.add(vectors)
    os.makedirs(out_dir, exist_ok=True)
    faiss.write_index(index, os.path.join(out_dir, 'index.faiss'))

    documents = {
        doc_id: Document(text, metadata)
        for doc_id, text, metadata in zip(spec['ids'], spec['texts'], spec['metadatas'])
    }
    index_to_docstore_id = dict(enumerate(spec['ids']))
    with open(os.path.join(out_dir, 'index.pkl'), 'wb') as f:
        pickle.dump((InMemoryDocstore(documents), index_to_docstore_id), f)
    print(json.dumps({'ntotal': index.ntotal, 'protocol': pickle.DEFAULT_PROTOCOL}))


if __name__ == '__main__':
    main()
